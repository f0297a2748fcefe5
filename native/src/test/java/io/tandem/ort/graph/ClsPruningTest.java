package io.tandem.ort.graph;

import io.tandem.ort.onnx.OnnxProto.ModelProto;
import io.tandem.ort.onnx.OnnxProto.NodeProto;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

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
        ModelProto m = ModelProto.parseFrom(r.graph());
        assertEquals(List.of("logits"), m.getGraph().getOutputList().stream().map(o -> o.getName()).toList());
        List<NodeProto> cuts = m.getGraph().getNodeList().stream().filter(n -> n.getName().contains("tandem/")).toList();
        assertEquals(List.of("/model/roberta/encoder/layer.1/tandem/FirstTokenOfInput",
                "/model/roberta/encoder/layer.1/tandem/FirstTokenOfAttention"), cuts.stream().map(NodeProto::getName).toList());
        NodeProto dense = m.getGraph().getNodeList().stream()
                .filter(n -> n.getName().equals("/model/roberta/encoder/layer.1/attention/output/dense/MatMul")).findFirst()
                .orElseThrow();
        assertEquals(cuts.get(1).getOutput(0), dense.getInput(0));
    }

    @Test
    void clsPooledEmbedderOutputsTheFirstTokensVector() throws Exception {
        ClsPruning.Result r = ClsPruning.prune(FIXTURES.resolve("m3-tiny-plain/onnx/model.onnx"), ClsPruning.Head.CLS_POOLED);
        assertTrue(r.applied(), r.reason());
        ModelProto m = ModelProto.parseFrom(r.graph());
        assertEquals(1, m.getGraph().getOutputCount());
        assertEquals(ClsPruning.POOLED_OUTPUT, m.getGraph().getOutput(0).getName());
        assertEquals(2, m.getGraph().getOutput(0).getType().getTensorType().getShape().getDimCount());
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
}
