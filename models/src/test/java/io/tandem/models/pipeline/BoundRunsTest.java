package io.tandem.models.pipeline;

import io.tandem.models.Fixtures;
import io.tandem.models.ModelOptions;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fixed-shape runs (--cuda-graphs) against the model run as it is, on the CPU with the packed
 * fixtures' portable attention: filler rows must not change any real row's dense, sparse or
 * ColBERT output, nor a rerank logit, on a shape's first run (the model's own session) or its
 * later ones (the bound session).
 */
class BoundRunsTest {

    private static final float TOLERANCE = 1e-5f;
    /** Longer than the tiny models' 64 tokens: four such rows make a shape of their own. */
    private static final String LONG = "a text long enough to be cut at the tiny model's limit of sixty-four tokens, "
            + "which it reaches after a good many words of plain English prose and then some more words";
    private static final List<List<String>> BATCHES = List.of(
            List.of("a short query"),
            List.of("two texts", "of which the second is a good deal longer than the first one is"),
            List.of("a short query"),
            List.of("三个 inputs", "mixed 长度", "and languages, one of them rather longer than the others"),
            List.of("two texts", "of which the second is a good deal longer than the first one is"),
            List.of(LONG, LONG + " again", "and " + LONG, LONG + " once more"),
            List.of(LONG + " once more", LONG, "and " + LONG, LONG + " again"));

    @Test
    void embeddingsAtFixedShapesAreTheEmbeddings() {
        try (EmbedderModel plain = (EmbedderModel) Fixtures.load("m3-tiny-packed", null);
             EmbedderModel bound = (EmbedderModel) Model.load("m3-tiny-packed", Fixtures.model("m3-tiny-packed"),
                     new ModelOptions(DeviceChoice.CPU, null, null, 1).withCudaGraphs(true))) {
            EnumSet<EmbedOutput> all = EnumSet.of(EmbedOutput.DENSE, EmbedOutput.SPARSE, EmbedOutput.TOKENS);
            for (List<String> texts : BATCHES) {
                List<Tokens> rows = texts.stream().map(t -> plain.tokenizer().encode(t, Truncation.RIGHT)).toList();
                List<Embedding> expected = plain.embed(rows, all);
                List<Embedding> got = bound.embed(rows, all);
                for (int i = 0; i < rows.size(); i++) {
                    assertArrayEquals(expected.get(i).dense(), got.get(i).dense(), TOLERANCE, texts.get(i));
                    assertArrayEquals(expected.get(i).sparse().indices(), got.get(i).sparse().indices(), texts.get(i));
                    assertArrayEquals(expected.get(i).sparse().values(), got.get(i).sparse().values(), TOLERANCE);
                    assertEquals(expected.get(i).tokens().length, got.get(i).tokens().length);
                    for (int t = 0; t < expected.get(i).tokens().length; t++) {
                        assertArrayEquals(expected.get(i).tokens()[t], got.get(i).tokens()[t], TOLERANCE);
                    }
                }
            }
            assertEquals(3, bound.boundShapes(), "the three shapes seen twice ran bound");
        }
    }

    @Test
    void rerankLogitsAtFixedShapesAreTheLogits() {
        try (ClassifierModel plain = (ClassifierModel) Fixtures.load("reranker-tiny-packed", null);
             ClassifierModel bound = (ClassifierModel) Model.load("reranker-tiny-packed",
                     Fixtures.model("reranker-tiny-packed"),
                     new ModelOptions(DeviceChoice.CPU, null, null, 1).withCudaGraphs(true))) {
            for (List<String> texts : BATCHES) {
                List<Tokens> rows = texts.stream()
                        .map(t -> plain.tokenizer().encodePair("what is it?", t, Truncation.RIGHT)).toList();
                float[][] expected = plain.classify(rows);
                float[][] got = bound.classify(rows);
                for (int i = 0; i < rows.size(); i++) {
                    assertArrayEquals(expected[i], got[i], TOLERANCE, texts.get(i));
                }
            }
            assertEquals(3, bound.boundShapes());
        }
    }
}
