package io.tandem.models.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which of a repository's files Tandem downloads: the configs {@link io.tandem.models.ModelFiles}
 * reads and one ONNX graph with its external weights. Model repos also carry PyTorch and
 * safetensors weights and often several ONNX variants; fetching those would cost gigabytes
 * for nothing.
 */
final class HubFiles {

    /** What {@link io.tandem.models.ModelFiles#open} reads besides the graph. */
    static final List<String> CONFIGS = List.of("config.json", "tokenizer.json", "tokenizer_config.json",
            "1_Pooling/config.json", "sentence_bert_config.json", "config_sentence_transformers.json", "tandem.json");

    /** Without these the loader refuses the folder, so fail before downloading gigabytes. */
    private static final List<String> REQUIRED = List.of("config.json", "tokenizer.json");

    /** The graphs the loader looks for, in its order of preference. */
    private static final List<String> GRAPHS = List.of("model.onnx", "onnx/model.onnx");

    private HubFiles() {
    }

    /**
     * The files to fetch, graph last: a snapshot that has its graph then has everything else
     * too, which is what {@link #complete} relies on.
     */
    static List<String> select(String what, Collection<String> siblings) {
        Set<String> all = new TreeSet<>(siblings);
        String graph = GRAPHS.stream().filter(all::contains).findFirst().orElseThrow(() -> noOnnx(what, all));
        for (String required : REQUIRED) {
            if (!all.contains(required)) {
                throw new HubException(what + " has no " + required + (required.equals("tokenizer.json")
                        ? " (Tandem reads fast tokenizers only; save one with transformers' AutoTokenizer)" : ""));
            }
        }
        List<String> out = new ArrayList<>();
        for (String config : CONFIGS) {
            if (all.contains(config)) {
                out.add(config);
            }
        }
        // External weights sit beside the graph under its name: model.onnx_data (torch.onnx,
        // optimum), model.onnx.data, or numbered model.onnx_data_N shards.
        String folder = graph.substring(0, graph.lastIndexOf('/') + 1);
        for (String file : all) {
            String rest = file.substring(Math.min(folder.length(), file.length()));
            if (file.startsWith(folder) && rest.startsWith("model.onnx") && !file.equals(graph) && !rest.contains("/")) {
                out.add(file);
            }
        }
        out.add(graph);
        return out;
    }

    /** Whether a cached snapshot folder is a model the loader can open (used offline). */
    static boolean complete(Path snapshot) {
        return REQUIRED.stream().allMatch(f -> Files.isRegularFile(snapshot.resolve(f)))
                && GRAPHS.stream().anyMatch(f -> Files.isRegularFile(snapshot.resolve(f)));
    }

    private static HubException noOnnx(String what, Set<String> all) {
        List<String> others = all.stream().filter(f -> f.endsWith(".onnx")).limit(5).toList();
        return new HubException(what + " has no ONNX graph at model.onnx or onnx/model.onnx"
                + (others.isEmpty() ? "" : " (it has " + String.join(", ", others) + ")")
                + "; Tandem runs ONNX only: export the checkpoint with models/export/tandem_export.py"
                + " (see models/export/README.md) and pass the exported folder instead");
    }
}
