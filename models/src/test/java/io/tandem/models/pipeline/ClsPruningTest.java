package io.tandem.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.BuiltinModels;
import io.tandem.models.Fixtures;
import io.tandem.models.ModelOptions;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import io.tandem.ort.DeviceUnusableException;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Graphs whose last layer is computed for the first token only (io.tandem.ort.graph.ClsPruning)
 * give the numbers of the graph as exported: the same batch, padded, through both.
 */
class ClsPruningTest {

    private static final ModelOptions CPU = new ModelOptions(DeviceChoice.CPU, null, null, 1);

    @Test
    void aDeviceThatCannotRunTheGraphIsNotTriedAgainWithTheGraphAsItIs() {
        Path dir = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir());
        List<String> warnings = new ArrayList<>();
        Logger log = Logger.getLogger(Model.class.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(handler);
        try {
            RuntimeException e = assertThrows(RuntimeException.class, () -> Model.load("cuda", dir,
                    new ModelOptions(DeviceChoice.parse("cuda:0"), null, null, 1)).close(),
                    "this test needs a machine where CUDA does not work (CI)");
            Throwable cause = e;
            while (cause != null && !(cause instanceof DeviceUnusableException)) {
                cause = cause.getCause();
            }
            assertNotNull(cause, "the device's failure: " + e);
            assertEquals(List.of(), warnings, "no fallback to the graph as it is, whose run would fail the same way");
        } finally {
            log.removeHandler(handler);
        }
    }

    @Test
    void builtinEmbedderGivesTheFullGraphsVectorsAndStillServesEveryToken() {
        Path dir = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir());
        List<Tokens> batch = new ArrayList<>();
        try (EmbedderModel pruned = (EmbedderModel) Model.load("pruned", dir, CPU);
             EmbedderModel full = (EmbedderModel) Model.load("full", dir, CPU.withFullLastLayer())) {
            assertTrue(pruned.lastLayerFirstTokenOnly());
            assertFalse(full.lastLayerFirstTokenOnly());
            assertEquals("sentence_embedding", pruned.denseOutput());
            assertEquals("last_hidden_state", full.denseOutput());
            assertTrue(pruned.outputs().contains(EmbedOutput.TOKENS), "/embed_all is still offered");
            for (JsonNode c : Fixtures.read("bge-small-zh-v1.5-golden.json").get("cases")) {
                batch.add(pruned.tokenizer().encode(c.get("text").asText(), Truncation.RIGHT));
            }
            assertTrue(batch.stream().mapToInt(Tokens::length).distinct().count() > 1, "rows of several lengths");
            List<Embedding> a = pruned.embed(batch, EnumSet.of(EmbedOutput.DENSE));
            List<Embedding> b = full.embed(batch, EnumSet.of(EmbedOutput.DENSE));
            List<Embedding> ta = pruned.embed(batch, EnumSet.of(EmbedOutput.TOKENS));
            List<Embedding> tb = full.embed(batch, EnumSet.of(EmbedOutput.TOKENS));
            // An /embed and an /embed_all cut into one batch: both outputs from one run.
            List<Embedding> both = pruned.embed(batch, EnumSet.of(EmbedOutput.DENSE, EmbedOutput.TOKENS));
            for (int i = 0; i < batch.size(); i++) {
                assertClose(b.get(i).dense(), a.get(i).dense(), 1e-5f, "row " + i);
                assertClose(b.get(i).dense(), both.get(i).dense(), 0f, "row " + i + " with its tokens");
                assertEquals(batch.get(i).length(), both.get(i).tokens().length);
                assertEquals(batch.get(i).length(), ta.get(i).tokens().length);
                for (int t = 0; t < batch.get(i).length(); t++) {
                    assertClose(tb.get(i).tokens()[t], ta.get(i).tokens()[t], 0f, "row " + i + " token " + t);
                }
            }
        }
    }

    @Test
    void rerankerGivesTheFullGraphsLogits() {
        Path dir = Fixtures.model("reranker-tiny");
        try (ClassifierModel pruned = (ClassifierModel) Model.load("pruned", dir, CPU);
             ClassifierModel full = (ClassifierModel) Model.load("full", dir, CPU.withFullLastLayer())) {
            assertTrue(pruned.lastLayerFirstTokenOnly());
            assertFalse(full.lastLayerFirstTokenOnly());
            List<Tokens> pairs = List.of(
                    pruned.tokenizer().encodePair("what is a panda?", "The giant panda is a bear native to China.",
                            Truncation.RIGHT),
                    pruned.tokenizer().encodePair("what is a panda?", "hi", Truncation.RIGHT),
                    pruned.tokenizer().encodePair("最好的向量数据库", "向量检索把文本变成向量，再按相似度查找。", Truncation.RIGHT));
            float[][] a = pruned.classify(pairs);
            float[][] b = full.classify(pairs);
            assertFalse(a[0][0] == a[1][0] && a[1][0] == a[2][0], "the pairs score apart");
            for (int i = 0; i < pairs.size(); i++) {
                assertClose(b[i], a[i], 1e-5f, "pair " + i);
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, float tolerance, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance, what + " [" + i + "]");
        }
    }
}
