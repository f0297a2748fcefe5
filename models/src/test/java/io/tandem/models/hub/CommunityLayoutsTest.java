package io.tandem.models.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.models.Fixtures;
import io.tandem.models.ModelKind;
import io.tandem.models.ModelOptions;
import io.tandem.models.OnnxOutputs;
import io.tandem.models.OnnxRewrite;
import io.tandem.models.pipeline.ClassifierModel;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Model;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models as people publish them on the hub, fetched through {@link FakeHub} and loaded without a
 * tandem.json. Each repository reproduces a real one's file layout and output names; the graphs
 * are Tandem's tiny fixtures with their tensors renamed ({@link OnnxRewrite}), so every layout
 * must give exactly the numbers of the fixture it was made from.
 */
class CommunityLayoutsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path M3 = Fixtures.model("m3-tiny");
    private static final Path RERANKER = Fixtures.model("reranker-tiny");
    private static final List<String> TEXTS = List.of("hello world", "bge-m3 has three heads, 三个输出", "x");

    @TempDir
    Path home;
    private FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private Path fetch(String id, Map<String, byte[]> files) {
        Set<String> lfs = new java.util.TreeSet<>(Set.of("model.onnx", "model.onnx.data", "onnx/model.onnx",
                "onnx/model.onnx_data", "pytorch_model.bin", "model.safetensors"));
        lfs.retainAll(files.keySet());
        hub.add(id, null, files, lfs);
        return HubModels.resolve(id, null, HubSettings.fromEnv(Map.of("HF_HOME", home.toString(),
                "HF_ENDPOINT", hub.endpoint())));
    }

    private static ModelOptions cpu() {
        return new ModelOptions(DeviceChoice.parse("cpu"), null, null, 1);
    }

    private static byte[] read(Path file) throws IOException {
        return Files.readAllBytes(file);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** config.json as a backbone-only export writes it: no architectures, no labels. */
    private static byte[] configWithoutArchitectures(Path fixture) throws IOException {
        ObjectNode config = (ObjectNode) JSON.readTree(fixture.resolve("config.json").toFile());
        config.remove(List.of("architectures", "id2label", "label2id"));
        return JSON.writeValueAsBytes(config);
    }

    private static Map<String, byte[]> tokenizerFiles(Path fixture) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            files.put(f, read(fixture.resolve(f)));
        }
        return files;
    }

    @Test
    void bgeM3WithDenseVecsSparseVecsColbertVecsAndModelOnnxData() throws IOException {
        // aapot/bge-m3-onnx: config.json, model.onnx, model.onnx.data (the weights: the .data
        // spelling, not optimum's _data), tokenizer files, sentencepiece.bpe.model; outputs named
        // as FlagEmbedding's BGEM3 forward names them.
        Map<String, byte[]> files = tokenizerFiles(M3);
        files.put("config.json", read(M3.resolve("config.json")));
        files.put("model.onnx", OnnxRewrite.rewrite(read(M3.resolve("model.onnx")),
                Map.of("sparse_weights", "sparse_vecs"), Map.of()));
        files.put("model.onnx.data", bytes("external weights (the fixture graph keeps its own inline)"));
        files.put("sentencepiece.bpe.model", bytes("not fetched"));
        files.put("README.md", bytes("# bge-m3-onnx"));
        Path dir = fetch("aapot/bge-m3-onnx", files);

        assertTrue(Files.isRegularFile(dir.resolve("model.onnx.data")), "the external weights beside the graph");
        assertFalse(Files.exists(dir.resolve("sentencepiece.bpe.model")));
        assertFalse(Files.exists(dir.resolve("tandem.json")));
        assertEquals(List.of("dense_vecs", "sparse_vecs", "colbert_vecs"), OnnxOutputs.names(dir.resolve("model.onnx")));
        assertSameAsTandemsExport(dir, Map.of("dense", "dense_vecs", "sparse", "sparse_vecs", "colbert", "colbert_vecs"));
    }

    @Test
    void bgeM3WithDenseSparseColbertAndAFullLengthRawColbertHead() throws IOException {
        // newtechstudio/bge-m3-3head: model.onnx + model.onnx.data + tokenizer.json, outputs dense
        // [batch, 1024], sparse [batch, seq], colbert [batch, seq, 1024] raw (CLS included, not
        // normalised). Its card lists no config.json, which Tandem reads; one without
        // architectures stands in for it. Rewiring colbert_linear to the un-sliced hidden states
        // makes the full-length head: Tandem must skip CLS itself and give the same vectors.
        Map<String, byte[]> files = tokenizerFiles(M3);
        files.put("config.json", configWithoutArchitectures(M3));
        files.put("model.onnx", OnnxRewrite.rewrite(read(M3.resolve("model.onnx")),
                Map.of("dense_vecs", "dense", "sparse_weights", "sparse", "colbert_vecs", "colbert"),
                Map.of("/Slice_output_0", "/encoder/encoder/layer.1/output/LayerNorm/LayerNormalization_output_0")));
        files.put("model.onnx.data", bytes("external weights"));
        Path dir = fetch("newtechstudio/bge-m3-3head", files);

        assertTrue(Files.isRegularFile(dir.resolve("model.onnx.data")));
        assertSameAsTandemsExport(dir, Map.of("dense", "dense", "sparse", "sparse", "colbert", "colbert"));
    }

    @Test
    void rerankerUnderOnnxWithoutArchitecturesIsARerankerByItsLogits() throws IOException {
        // BAAI/bge-reranker-base: PyTorch and safetensors weights at the root, the ONNX export in
        // onnx/ (optimum names large weights onnx/model.onnx_data). Here config.json has no
        // architectures and no labels: only the graph's logits output says it is a reranker.
        Map<String, byte[]> files = tokenizerFiles(RERANKER);
        files.put("config.json", configWithoutArchitectures(RERANKER));
        files.put("onnx/model.onnx", read(RERANKER.resolve("model.onnx")));
        files.put("onnx/model.onnx_data", bytes("external weights"));
        files.put("pytorch_model.bin", bytes("not fetched"));
        files.put("model.safetensors", bytes("not fetched"));
        files.put("sentencepiece.bpe.model", bytes("not fetched"));
        Path dir = fetch("BAAI/bge-reranker-base", files);

        assertTrue(Files.isRegularFile(dir.resolve("onnx/model.onnx_data")));
        assertFalse(Files.exists(dir.resolve("pytorch_model.bin")));
        try (Model model = Model.load("community", dir, cpu());
             ClassifierModel reference = (ClassifierModel) Model.load("fixture", RERANKER, cpu())) {
            assertEquals(ModelKind.RERANKER, model.descriptor().kind());
            assertEquals(Map.of(0, "LABEL_0"), model.descriptor().id2label());
            ClassifierModel reranker = assertInstanceOf(ClassifierModel.class, model);
            List<Tokens> pairs = List.of(reranker.tokenizer().encodePair("what is bge?", "a reranker", Truncation.RIGHT),
                    reranker.tokenizer().encodePair("what is bge?", "天气", Truncation.RIGHT));
            assertArrayEquals(reference.classify(pairs), reranker.classify(pairs));
        }
    }

    @Test
    void aSingleScoreOutputNotNamedLogitsIsARerankerOnlyWhenTheFlagSaysSo() throws IOException {
        Map<String, byte[]> files = tokenizerFiles(RERANKER);
        files.put("config.json", configWithoutArchitectures(RERANKER));
        files.put("model.onnx", OnnxRewrite.rewrite(read(RERANKER.resolve("model.onnx")), Map.of("logits", "scores"),
                Map.of()));
        Path dir = fetch("someone/reranker-scores", files);

        try (Model model = Model.load("community", dir, cpu(), ModelKind.RERANKER)) {
            assertEquals(ModelKind.RERANKER, model.descriptor().kind());
        }
        io.tandem.models.ModelLoadException asEmbedder = org.junit.jupiter.api.Assertions.assertThrows(
                io.tandem.models.ModelLoadException.class, () -> Model.load("community", dir, cpu(), ModelKind.EMBEDDER));
        assertTrue(asEmbedder.getMessage().contains("neither a pooled output nor last_hidden_state (outputs: [scores])"),
                asEmbedder.getMessage());
    }

    /** Dense, sparse and ColBERT equal to the fixture's through Tandem's own manifest. */
    private static void assertSameAsTandemsExport(Path dir, Map<String, String> outputNames) {
        try (EmbedderModel community = assertInstanceOf(EmbedderModel.class, Model.load("community", dir, cpu()));
             EmbedderModel reference = (EmbedderModel) Model.load("fixture", M3, cpu())) {
            assertEquals(ModelKind.EMBEDDER, community.descriptor().kind());
            assertEquals(outputNames, community.outputNames());
            assertEquals(EnumSet.allOf(EmbedOutput.class), community.outputs());
            List<Tokens> rows = TEXTS.stream().map(t -> community.tokenizer().encode(t, Truncation.RIGHT)).toList();
            List<Embedding> got = community.embed(rows, EnumSet.allOf(EmbedOutput.class));
            List<Embedding> want = reference.embed(rows, EnumSet.allOf(EmbedOutput.class));
            for (int i = 0; i < rows.size(); i++) {
                assertArrayEquals(want.get(i).dense(), got.get(i).dense(), 1e-6f, TEXTS.get(i));
                assertEquals(want.get(i).tokens().length, got.get(i).tokens().length, TEXTS.get(i));
                for (int t = 0; t < want.get(i).tokens().length; t++) {
                    assertArrayEquals(want.get(i).tokens()[t], got.get(i).tokens()[t], 1e-5f, TEXTS.get(i) + " token " + t);
                }
                // The lexical weights skip CLS/EOS/PAD/UNK as the manifest's sparse_skip_token_ids do.
                assertArrayEquals(want.get(i).sparse().indices(), got.get(i).sparse().indices(), TEXTS.get(i));
                assertArrayEquals(want.get(i).sparse().values(), got.get(i).sparse().values(), 1e-6f, TEXTS.get(i));
            }
        }
    }
}
