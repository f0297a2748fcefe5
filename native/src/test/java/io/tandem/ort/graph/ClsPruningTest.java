package io.tandem.ort.graph;

import io.tandem.ort.graph.Wire.Field;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which graphs are rewritten and what the rewrite looks like; the numbers are in models' ClsPruningTest. */
class ClsPruningTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures");

    @Test
    void classifierHeadReadsTheFirstRowOfALastLayerCutAfterItsAttention() throws Exception {
        ClsPruning.Result r = ClsPruning.prune(FIXTURES.resolve("reranker-tiny/model.onnx"), ClsPruning.Head.CLASSIFIER);
        assertTrue(r.applied(), r.reason());
        List<Field> graph = graph(r.graph());
        assertEquals(List.of("logits"), names(graph, 12));
        assertEquals(null, r.replaced());
        List<List<Field>> nodes = graph.stream().filter(f -> f.number() == 1).map(Field::message).toList();
        List<List<Field>> cuts = nodes.stream().filter(n -> Wire.string(n, 3).contains("tandem/")).toList();
        assertEquals(List.of("/model/roberta/encoder/layer.1/tandem/FirstTokenOfInput",
                "/model/roberta/encoder/layer.1/tandem/FirstTokenOfAttention"), cuts.stream().map(n -> Wire.string(n, 3)).toList());
        List<Field> dense = nodes.stream()
                .filter(n -> Wire.string(n, 3).equals("/model/roberta/encoder/layer.1/attention/output/dense/MatMul"))
                .findFirst().orElseThrow();
        assertEquals(Wire.strings(cuts.get(1), 2), Wire.strings(dense, 1).subList(0, 1));
        assertEquals(nodes.size(), graph(Files.readAllBytes(FIXTURES.resolve("reranker-tiny/model.onnx"))).stream()
                .filter(f -> f.number() == 1).count() + 2);
    }

    @Test
    void clsPooledEmbedderOutputsTheFirstTokensVector() throws Exception {
        ClsPruning.Result r = ClsPruning.prune(FIXTURES.resolve("m3-tiny-plain/onnx/model.onnx"), ClsPruning.Head.CLS_POOLED);
        assertTrue(r.applied(), r.reason());
        List<Field> graph = graph(r.graph());
        assertEquals(List.of(ClsPruning.POOLED_OUTPUT), names(graph, 12));
        assertEquals("last_hidden_state", r.replaced());
        List<Field> output = Wire.first(graph, 12).message();
        List<Field> shape = Wire.first(Wire.first(Wire.first(output, 2).message(), 1).message(), 2).message();
        assertEquals(2, shape.size(), "[batch, hidden]");
    }

    @Test
    void graphsItDoesNotUnderstandAreLeftWithTheReason() throws Exception {
        ClsPruning.Result packed = ClsPruning.prune(FIXTURES.resolve("reranker-tiny-packed/model.onnx"),
                ClsPruning.Head.CLASSIFIER);
        assertFalse(packed.applied());
        assertTrue(packed.reason().contains("no /encoder/layer.N/ nodes"), packed.reason());
        ClsPruning.Result threeHeads = ClsPruning.prune(FIXTURES.resolve("m3-tiny/model.onnx"), ClsPruning.Head.CLS_POOLED);
        assertFalse(threeHeads.applied());
        assertTrue(threeHeads.reason().contains("one output is not the last layer"), threeHeads.reason());
        ClsPruning.Result logitsAsEmbedding = ClsPruning.prune(FIXTURES.resolve("reranker-tiny/model.onnx"),
                ClsPruning.Head.CLS_POOLED);
        assertFalse(logitsAsEmbedding.applied());
    }

    @Test
    void wireFormatRoundTripsAModelByteForByte() throws Exception {
        byte[] model = Files.readAllBytes(FIXTURES.resolve("reranker-tiny/model.onnx"));
        List<Field> fields = Wire.parse(model, 0, model.length);
        assertArrayEquals(model, Wire.write(fields));
        assertArrayEquals(model, Wire.write(fields, 7, Wire.first(fields, 7).message()));
    }

    private static List<Field> graph(byte[] model) {
        return Wire.first(Wire.parse(model, 0, model.length), 7).message();
    }

    private static List<String> names(List<Field> graph, int number) {
        return graph.stream().filter(f -> f.number() == number).map(f -> Wire.string(f.message(), 1)).toList();
    }
}
