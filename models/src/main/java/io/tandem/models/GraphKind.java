package io.tandem.models;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The kind of a model whose folder does not say it. Hub exports often carry a config.json
 * without {@code architectures} (it describes the backbone, not the head); the graph then says
 * what it is: a {@code logits} output is a sequence classifier, a reranker when it has one label.
 */
final class GraphKind {

    private GraphKind() {
    }

    /** Whether tandem.json or config.json names the kind. */
    static boolean declared(JsonNode config, JsonNode manifest) {
        return manifest != null && manifest.has("kind") || config.path("architectures").path(0).isTextual();
    }

    static ModelKind fromGraph(Path onnx, Map<Integer, String> labels, ModelKind hint) {
        List<String> outputs = OnnxOutputs.names(onnx);
        if (outputs.contains("logits")) {
            return labels.size() > 1 ? ModelKind.CLASSIFIER : ModelKind.RERANKER;
        }
        // One output under another name is a score only if the user put the model in the
        // reranker slot: an embedder's pooled output looks the same from its name alone.
        if (hint != null && hint != ModelKind.EMBEDDER && outputs.size() == 1) {
            return labels.size() > 1 ? ModelKind.CLASSIFIER : ModelKind.RERANKER;
        }
        return ModelKind.EMBEDDER;
    }
}
