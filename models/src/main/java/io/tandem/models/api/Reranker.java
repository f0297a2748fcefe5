package io.tandem.models.api;

import io.tandem.models.ModelKind;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.models.infer.Request;
import io.tandem.models.pipeline.Model;

import java.nio.file.Path;
import java.util.List;

/**
 * A cross-encoder in-process: a face over the same {@link Inference} core as the server's
 * /rerank, with pairs truncated longest-first to the model's limit and batched by length.
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

    private final Inference inference;

    private Reranker(Inference inference) {
        this.inference = inference;
    }

    public static Reranker open(Path dir, ModelOptions options) {
        return open(dir, options, InferenceSettings.library(), InferenceListener.NONE);
    }

    /** With the batch budget and a listener of one's own (batches formed, timings). */
    public static Reranker open(Path dir, ModelOptions options, InferenceSettings settings, InferenceListener listener) {
        Model model = Model.load(dir.getFileName().toString(), dir, options);
        if (model.descriptor().kind() != ModelKind.RERANKER) {
            model.close();
            throw new ModelLoadException(dir + " is not a reranker (a one-label sequence classifier)");
        }
        return new Reranker(Inference.builder(model).settings(settings).listener(listener).start());
    }

    /** Scores in input order. */
    public float[] score(String query, List<String> texts) {
        float[] scores = new float[texts.size()];
        for (Rank rank : rerank(query, texts)) {
            scores[rank.index()] = rank.score();
        }
        return scores;
    }

    /** Texts by score, best first (ties: the higher index first, as TEI orders them). */
    public List<Rank> rerank(String query, List<String> texts) {
        return inference.rerank(new Request.Rerank(query, texts, Request.Truncate.DEFAULT, false)).value().stream()
                .map(r -> new Rank(r.index(), r.score())).toList();
    }

    @Override
    public void close() {
        inference.close();
    }
}
