package io.tandem.models.api;

import io.tandem.models.ModelKind;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.ClassifierModel;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A cross-encoder in-process: scores (query, text) pairs like the server's /rerank, with
 * pairs truncated longest-first to the model's limit and batched by length.
 *
 * <pre>{@code
 * try (Reranker reranker = Reranker.open(Path.of("/models/bge-reranker-base"), ModelOptions.defaults())) {
 *     List<Reranker.Rank> ranks = reranker.rerank("what is a panda?", List.of("hi", "The giant panda ..."));
 * }
 * }</pre>
 */
public final class Reranker implements AutoCloseable {

    /** One text's place: its index in the input list and its score (sigmoid of the logit). */
    public record Rank(int index, float score) {
    }

    private static final int DEFAULT_BATCH_TOKENS = 16384;

    private final ClassifierModel model;

    private Reranker(ClassifierModel model) {
        this.model = model;
    }

    public static Reranker open(Path dir, ModelOptions options) {
        Model model = Model.load(dir.getFileName().toString(), dir, options);
        if (!(model instanceof ClassifierModel classifier) || model.descriptor().kind() != ModelKind.RERANKER) {
            model.close();
            throw new ModelLoadException(dir + " is not a reranker (a one-label sequence classifier)");
        }
        return new Reranker(classifier);
    }

    /** Scores in input order. */
    public float[] score(String query, List<String> texts) {
        List<Tokens> rows = new ArrayList<>(texts.size());
        for (String text : texts) {
            rows.add(model.tokenizer().encodePair(query, text, Truncation.RIGHT));
        }
        float[] scores = new float[rows.size()];
        for (List<Integer> batch : Batches.plan(rows, DEFAULT_BATCH_TOKENS)) {
            float[][] logits = model.classify(batch.stream().map(rows::get).toList());
            for (int i = 0; i < batch.size(); i++) {
                scores[batch.get(i)] = VectorMath.sigmoid(logits[i][0]);
            }
        }
        return scores;
    }

    /** Texts by score, best first (ties: the higher index first, as TEI orders them). */
    public List<Rank> rerank(String query, List<String> texts) {
        float[] scores = score(query, texts);
        List<Rank> ranks = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            ranks.add(new Rank(i, scores[i]));
        }
        ranks.sort(Comparator.comparingDouble(Rank::score).thenComparingInt(Rank::index).reversed());
        return ranks;
    }

    @Override
    public void close() {
        model.close();
    }
}
