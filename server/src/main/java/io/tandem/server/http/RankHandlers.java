package io.tandem.server.http;

import io.tandem.models.ModelKind;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.server.core.InferenceRunner;
import io.tandem.server.core.Outcome;
import io.tandem.server.core.ServedModel;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** /rerank (cross-encoder, or bi-encoder when no reranker is loaded) and /predict. */
final class RankHandlers {

    private final InferenceRunner runner;
    private final EmbedHandlers embeds;

    RankHandlers(InferenceRunner runner, EmbedHandlers embeds) {
        this.runner = runner;
        this.embeds = embeds;
    }

    void rerank(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        ServedModel metricsOwner = surface.reranker() != null ? surface.reranker() : surface.embedder();
        Endpoint.guard(res, metricsOwner != null ? metricsOwner.metrics() : null, false, () -> {
            Requests.Rerank r = Requests.rerank(HttpIo.readJson(req));
            if (r.texts().isEmpty()) {
                throw TeiError.empty("`texts` cannot be empty");
            }
            ServedModel m = surface.reranker();
            long characters = (long) r.query().codePointCount(0, r.query().length()) * r.texts().size();
            for (String t : r.texts()) {
                characters += t.codePointCount(0, t.length());
            }
            float[] scores;
            List<? extends Outcome<?>> outcomes;
            boolean biEncoder = false;
            if (m == null && surface.biEncoderRerank() && surface.embedder() != null
                    && surface.embedder().kind() == ModelKind.EMBEDDER) {
                m = surface.embedder();
                biEncoder = true;
                List<String> all = new ArrayList<>();
                all.add(r.query());
                all.addAll(r.texts());
                if (r.texts().size() > m.settings().maxClientBatchSize()) {
                    throw TeiError.batchSize(r.texts().size(), m.settings().maxClientBatchSize());
                }
                List<Outcome<Embedding>> out = embeds.embedTexts(m, all, r.truncate());
                float[] query = out.getFirst().value().dense();
                scores = new float[r.texts().size()];
                for (int i = 0; i < scores.length; i++) {
                    scores[i] = (float) VectorMath.cosine(query, out.get(i + 1).value().dense());
                }
                outcomes = out;
            } else {
                if (m == null || m.kind() != ModelKind.RERANKER) {
                    throw TeiError.modelType("model is not a re-ranker model");
                }
                List<List<String>> pairs = r.texts().stream().map(t -> List.of(r.query(), t)).toList();
                List<Outcome<float[]>> out = classify(m, pairs, r.truncate(), true);
                scores = new float[out.size()];
                for (int i = 0; i < scores.length; i++) {
                    float logit = out.get(i).value()[0];
                    scores[i] = r.rawScores() ? logit : VectorMath.sigmoid(logit);
                }
                outcomes = out;
            }
            List<Map<String, Object>> ranks = new ArrayList<>(scores.length);
            for (int i : descending(scores)) {
                if (Float.isNaN(scores[i])) {
                    throw new TeiError(424, ErrorType.Backend, "score is NaN", "inference");
                }
                Map<String, Object> rank = new LinkedHashMap<>();
                rank.put("index", i);
                if (r.returnText()) {
                    rank.put("text", r.texts().get(i));
                }
                rank.put("score", scores[i]);
                ranks.add(rank);
            }
            // Bi-encoder inputs were counted as te_embed_count; their successes must match.
            Endpoint.succeeded(res, m.metrics(), start, true, biEncoder, outcomes, characters);
            HttpIo.send(res, 200, ranks);
        });
    }

    void predict(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        ServedModel model = surface.reranker();
        Endpoint.guard(res, model != null ? model.metrics() : null, false, () -> {
            Requests.Predict r = Requests.predict(HttpIo.readJson(req));
            ServedModel m = surface.reranker();
            if (m == null || m.kind() == ModelKind.EMBEDDER) {
                throw TeiError.modelType("Model is not a classifier model");
            }
            List<Outcome<float[]>> out = classify(m, r.items(), r.truncate(), r.batch());
            Map<Integer, String> labels = m.model().descriptor().id2label();
            List<List<Map<String, Object>>> results = new ArrayList<>(out.size());
            long characters = 0;
            for (int i = 0; i < out.size(); i++) {
                results.add(labelled(out.get(i).value(), labels, r.rawScores()));
                for (String s : r.items().get(i)) {
                    characters += s.codePointCount(0, s.length());
                }
            }
            Endpoint.succeeded(res, m.metrics(), start, r.batch(), false, out, characters);
            HttpIo.send(res, 200, r.batch() ? results : results.getFirst());
        });
    }

    private List<Outcome<float[]>> classify(ServedModel m, List<List<String>> items, Requests.Truncate truncate,
                                            boolean batch) {
        int n = items.size();
        if (n > m.settings().maxClientBatchSize()) {
            throw TeiError.batchSize(n, m.settings().maxClientBatchSize());
        }
        if (Prompts.defaultPrompt(m) != null && items.stream().anyMatch(i -> i.size() == 2)) {
            throw TeiError.validation("`prompt_name` cannot be set with dual inputs");
        }
        Truncation truncation = EmbedHandlers.truncation(m, truncate);
        m.metrics().requestStarted(batch);
        if (!m.tryAcquire(n)) {
            throw TeiError.overloaded();
        }
        try {
            String prompt = Prompts.defaultPrompt(m);
            List<Supplier<Tokens>> tasks = new ArrayList<>(n);
            for (List<String> item : items) {
                tasks.add(item.size() == 2
                        ? InputTokenizer.pair(m, item.get(0), item.get(1), truncation)
                        : InputTokenizer.single(m, new Requests.Input(item.getFirst(), null), truncation, prompt));
                m.metrics().predictStarted();
            }
            return runner.run(tasks, m::classify);
        } finally {
            m.release(n);
        }
    }

    /** TEI's scores per label, best first: softmax for several labels, sigmoid for one. */
    private static List<Map<String, Object>> labelled(float[] logits, Map<Integer, String> labels, boolean raw) {
        float[] scores = logits.clone();
        if (!raw && scores.length == 1) {
            scores[0] = VectorMath.sigmoid(scores[0]);
        } else if (!raw) {
            float max = Float.NEGATIVE_INFINITY;
            for (float s : scores) {
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) Math.exp(scores[i] - max);
                sum += scores[i];
            }
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) (scores[i] / sum);
            }
        }
        List<Map<String, Object>> out = new ArrayList<>(scores.length);
        for (int i : descending(scores)) {
            if (Float.isNaN(scores[i])) {
                throw new TeiError(424, ErrorType.Backend, "score is NaN", "inference");
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("score", scores[i]);
            entry.put("label", labels.getOrDefault(i, "LABEL_" + i));
            out.add(entry);
        }
        return out;
    }

    /**
     * Indices by score, highest first. TEI sorts ascending (stable) and reverses, so among
     * equal scores the higher index comes first.
     */
    static List<Integer> descending(float[] scores) {
        List<Integer> order = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparingInt(i -> i).reversed());
        return order;
    }
}
