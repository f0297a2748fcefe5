package io.tandem.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.Fixtures;
import io.tandem.models.ModelKind;
import io.tandem.models.Pooling;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Java outputs against transformers' fp32 outputs for the tiny bge-m3-shaped and reranker
 * fixtures: token ids, dense, sparse, ColBERT, hidden states and rerank logits, single and
 * batched (padding must not leak into any row). The "-packed" fixtures are the same weights
 * in the padding-free layout of models/export/packed_graph.py (its portable attention, which
 * runs on the CPU), fed by PackedInputs.
 */
class FixtureParityTest {

    private static final float TOLERANCE = 1e-4f;
    private static JsonNode refs;
    private static EmbedderModel m3;
    private static EmbedderModel plain;
    private static ClassifierModel reranker;
    private static EmbedderModel m3Packed;
    private static ClassifierModel rerankerPacked;

    @BeforeAll
    static void load() {
        refs = Fixtures.references();
        m3 = (EmbedderModel) Fixtures.load("m3-tiny", null);
        plain = (EmbedderModel) Fixtures.load("m3-tiny-plain", null);
        reranker = (ClassifierModel) Fixtures.load("reranker-tiny", null);
        m3Packed = (EmbedderModel) Fixtures.load("m3-tiny-packed", null);
        rerankerPacked = (ClassifierModel) Fixtures.load("reranker-tiny-packed", null);
    }

    @AfterAll
    static void close() {
        m3.close();
        plain.close();
        reranker.close();
        m3Packed.close();
        rerankerPacked.close();
    }

    private static EmbedderModel m3(String fixture) {
        return fixture.endsWith("-packed") ? m3Packed : m3;
    }

    private static ClassifierModel reranker(String fixture) {
        return fixture.endsWith("-packed") ? rerankerPacked : reranker;
    }

    @Test
    void packedLayoutIsRecognisedFromTheGraphInputs() {
        assertTrue(m3Packed.packed());
        assertTrue(rerankerPacked.packed());
        assertFalse(m3.packed());
        assertEquals(EnumSet.allOf(EmbedOutput.class), m3Packed.outputs());
        assertEquals(ModelKind.RERANKER, rerankerPacked.descriptor().kind());
    }

    @Test
    void layoutsAreRecognised() {
        assertEquals(ModelKind.EMBEDDER, m3.descriptor().kind());
        assertEquals(EnumSet.allOf(EmbedOutput.class), m3.outputs());
        assertTrue(m3.hasColbert());
        assertEquals(EnumSet.of(EmbedOutput.DENSE, EmbedOutput.TOKENS), plain.outputs());
        assertEquals(ModelKind.RERANKER, reranker.descriptor().kind());
        assertEquals(refs.get("max_input_length").asInt(), m3.descriptor().maxInputLength());
    }

    @Test
    void tokenizationMatchesTransformers() {
        for (JsonNode c : refs.get("embed")) {
            Tokens t = m3.tokenizer().encode(c.get("text").asText(), Truncation.RIGHT);
            assertArrayEquals(Fixtures.longs(c.get("input_ids")), t.ids(), c.get("text").asText());
            assertEquals(c.get("truncated").asBoolean(), t.truncated(), c.get("text").asText());
        }
        for (JsonNode c : refs.get("rerank")) {
            Tokens t = reranker.tokenizer().encodePair(c.get("query").asText(), c.get("text").asText(), Truncation.RIGHT);
            assertArrayEquals(Fixtures.longs(c.get("input_ids")), t.ids(), c.get("text").asText());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"m3-tiny", "m3-tiny-packed"})
    void m3OutputsMatchOneByOne(String fixture) {
        for (JsonNode c : refs.get("embed")) {
            Embedding e = m3(fixture).embed(List.of(tokens(c)), m3.outputs()).getFirst();
            checkM3(c, e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"m3-tiny", "m3-tiny-packed"})
    void m3OutputsMatchInOneMixedLengthBatch(String fixture) {
        List<Tokens> batch = new ArrayList<>();
        refs.get("embed").forEach(c -> batch.add(tokens(c)));
        List<Embedding> out = m3(fixture).embed(batch, m3.outputs());
        for (int i = 0; i < batch.size(); i++) {
            checkM3(refs.get("embed").get(i), out.get(i));
        }
    }

    @Test
    void plainExportIsPooledHere() {
        List<Tokens> batch = new ArrayList<>();
        refs.get("embed").forEach(c -> batch.add(tokens(c)));
        List<Embedding> out = plain.embed(batch, EnumSet.of(EmbedOutput.DENSE, EmbedOutput.TOKENS));
        for (int i = 0; i < batch.size(); i++) {
            JsonNode c = refs.get("embed").get(i);
            assertClose(Fixtures.floats(c.get("dense")), out.get(i).dense(), c);
            JsonNode hidden = c.get("last_hidden_state");
            assertEquals(hidden.size(), out.get(i).tokens().length);
            for (int t = 0; t < hidden.size(); t++) {
                assertClose(Fixtures.floats(hidden.get(t)), out.get(i).tokens()[t], c);
            }
        }
    }

    @Test
    void meanPoolingOverride() {
        try (EmbedderModel mean = (EmbedderModel) Fixtures.load("m3-tiny-plain", Pooling.MEAN)) {
            List<Tokens> batch = new ArrayList<>();
            refs.get("embed").forEach(c -> batch.add(tokens(c)));
            List<Embedding> out = mean.embed(batch, EnumSet.of(EmbedOutput.DENSE));
            for (int i = 0; i < batch.size(); i++) {
                assertClose(Fixtures.floats(refs.get("embed").get(i).get("mean_pooled")), out.get(i).dense(),
                        refs.get("embed").get(i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reranker-tiny", "reranker-tiny-packed"})
    void rerankLogitsMatchSingleAndBatched(String fixture) {
        ClassifierModel model = reranker(fixture);
        List<Tokens> batch = new ArrayList<>();
        for (JsonNode c : refs.get("rerank")) {
            Tokens t = model.tokenizer().encodePair(c.get("query").asText(), c.get("text").asText(), Truncation.RIGHT);
            batch.add(t);
            float single = model.classify(List.of(t))[0][0];
            assertEquals(c.get("logit").asDouble(), single, TOLERANCE, c.get("text").asText());
            assertEquals(c.get("score").asDouble(), VectorMath.sigmoid(single), TOLERANCE);
        }
        float[][] logits = model.classify(batch);
        for (int i = 0; i < batch.size(); i++) {
            assertEquals(refs.get("rerank").get(i).get("logit").asDouble(), logits[i][0], TOLERANCE);
        }
    }

    private static Tokens tokens(JsonNode c) {
        return m3.tokenizer().encode(c.get("text").asText(), Truncation.RIGHT);
    }

    private static void checkM3(JsonNode c, Embedding e) {
        assertClose(Fixtures.floats(c.get("dense")), e.dense(), c);
        assertClose(Fixtures.floats(c.get("dense_normalized")), VectorMath.normalize(e.dense().clone()), c);
        Map<Integer, Double> expected = new TreeMap<>();
        c.get("sparse").properties().forEach(p -> expected.put(Integer.parseInt(p.getKey()), p.getValue().asDouble()));
        SparseVector sparse = e.sparse();
        assertArrayEquals(expected.keySet().stream().mapToInt(Integer::intValue).toArray(), sparse.indices(),
                "sparse token ids of " + c.get("text"));
        int i = 0;
        for (double w : expected.values()) {
            assertEquals(w, sparse.values()[i++], TOLERANCE);
        }
        JsonNode colbert = c.get("colbert");
        assertEquals(colbert.size(), e.tokens().length, "ColBERT vectors of " + c.get("text"));
        for (int t = 0; t < colbert.size(); t++) {
            assertClose(Fixtures.floats(colbert.get(t)), e.tokens()[t], c);
        }
    }

    private static void assertClose(float[] expected, float[] actual, JsonNode c) {
        assertEquals(expected.length, actual.length, "length for " + c.get("text"));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE, "value " + i + " for " + c.get("text"));
        }
    }
}
