package io.tandem.server.http;

import io.tandem.models.ModelKind;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.SparseVector;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.server.core.InferenceRunner;
import io.tandem.server.core.Outcome;
import io.tandem.server.core.ServedModel;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** /embed, /embed_all, /embed_sparse, /similarity and the OpenAI /v1/embeddings. */
final class EmbedHandlers {

    private final InferenceRunner runner;

    EmbedHandlers(InferenceRunner runner) {
        this.runner = runner;
    }

    void embed(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        guard(res, surface, false, () -> {
            Requests.Embed r = Requests.embed(HttpIo.readJson(req));
            ServedModel m = embedder(surface);
            if (r.dimensions() != null && r.dimensions() == 0) {
                throw TeiError.validation("`dimensions` should be positive");
            }
            List<Outcome<Embedding>> out = run(m, r.inputs(), r.truncate(), r.promptName(), EnumSet.of(EmbedOutput.DENSE));
            List<float[]> vectors = new ArrayList<>(out.size());
            for (Outcome<Embedding> o : out) {
                vectors.add(finish(o.value().dense(), r.dimensions(), r.normalize()));
            }
            respond(res, m, start, r.inputs(), out, vectors);
        });
    }

    void embedAll(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        guard(res, surface, false, () -> {
            Requests.EmbedAll r = Requests.embedAll(HttpIo.readJson(req));
            ServedModel m = embedder(surface);
            if (!m.embedder().hasTokenVectors()) {
                throw TeiError.modelType("`embed_all` is not available for this model (no per-token output)");
            }
            List<Outcome<Embedding>> out = run(m, r.inputs(), r.truncate(), r.promptName(), EnumSet.of(EmbedOutput.TOKENS));
            List<float[][]> tokens = out.stream().map(o -> o.value().tokens()).toList();
            respond(res, m, start, r.inputs(), out, tokens);
        });
    }

    void embedSparse(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        guard(res, surface, false, () -> {
            Requests.EmbedAll r = Requests.embedAll(HttpIo.readJson(req));
            ServedModel m = surface.embedder();
            if (m == null || m.kind() != ModelKind.EMBEDDER || !m.embedder().hasSparse()) {
                throw TeiError.modelType("Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling");
            }
            List<Outcome<Embedding>> out = run(m, r.inputs(), r.truncate(), r.promptName(), EnumSet.of(EmbedOutput.SPARSE));
            List<List<Map<String, Object>>> body = new ArrayList<>(out.size());
            for (Outcome<Embedding> o : out) {
                SparseVector v = o.value().sparse();
                List<Map<String, Object>> entries = new ArrayList<>(v.indices().length);
                for (int i = 0; i < v.indices().length; i++) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("index", v.indices()[i]);
                    e.put("value", v.values()[i]);
                    entries.add(e);
                }
                body.add(entries);
            }
            respond(res, m, start, r.inputs(), out, body);
        });
    }

    void similarity(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        guard(res, surface, false, () -> {
            Requests.Similarity r = Requests.similarity(HttpIo.readJson(req));
            if (r.sentences().isEmpty()) {
                throw TeiError.empty("`inputs.sentences` cannot be empty");
            }
            ServedModel m = embedder(surface);
            List<Requests.Input> items = new ArrayList<>();
            items.add(new Requests.Input(r.source(), null));
            r.sentences().forEach(s -> items.add(new Requests.Input(s, null)));
            Requests.Inputs inputs = new Requests.Inputs(items, true);
            List<Outcome<Embedding>> out = run(m, inputs, r.truncate(), r.promptName(), EnumSet.of(EmbedOutput.DENSE));
            float[] source = out.getFirst().value().dense();
            List<Float> scores = new ArrayList<>(out.size() - 1);
            for (int i = 1; i < out.size(); i++) {
                scores.add((float) VectorMath.cosine(source, out.get(i).value().dense()));
            }
            respond(res, m, start, inputs, out, scores);
        });
    }

    void openAi(ServerRequest req, ServerResponse res, Surface surface) {
        long start = System.nanoTime();
        guard(res, surface, true, () -> {
            Requests.OpenAi r = Requests.openAi(HttpIo.readJson(req));
            ServedModel m = embedder(surface);
            if (r.dimensions() != null && r.dimensions() == 0) {
                throw TeiError.validation("`dimensions` should be positive");
            }
            List<Outcome<Embedding>> out = run(m, r.input(), new Requests.Truncate(null, false), null,
                    EnumSet.of(EmbedOutput.DENSE));
            List<Map<String, Object>> data = new ArrayList<>(out.size());
            long tokens = 0;
            for (int i = 0; i < out.size(); i++) {
                float[] v = finish(out.get(i).value().dense(), r.dimensions(), true);
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("object", "embedding");
                item.put("embedding", r.base64() ? base64(v) : v);
                item.put("index", i);
                data.add(item);
                tokens += out.get(i).tokens();
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("object", "list");
            body.put("data", data);
            body.put("model", m.name());
            body.put("usage", Map.of("prompt_tokens", tokens, "total_tokens", tokens));
            respond(res, m, start, r.input(), out, body);
        });
    }

    /** Failures of an embedding route count against the embedder's metrics. */
    private static void guard(ServerResponse res, Surface surface, boolean openAi, Endpoint.Work work) {
        ServedModel model = surface.embedder();
        Endpoint.guard(res, model != null ? model.metrics() : null, openAi, work);
    }

    private static void respond(ServerResponse res, ServedModel m, long start, Requests.Inputs inputs,
                                List<Outcome<Embedding>> out, Object body) {
        Endpoint.succeeded(res, m.metrics(), start, inputs.batch(), true, out, characters(inputs));
        HttpIo.send(res, 200, body);
    }

    /**
     * Bi-encoder /rerank: the query and the texts embedded together. The caller has already
     * applied TEI's request cap to the texts alone (the query is not one of the client's inputs).
     */
    List<Outcome<Embedding>> embedTexts(ServedModel m, List<String> texts, Requests.Truncate truncate) {
        List<Requests.Input> items = texts.stream().map(t -> new Requests.Input(t, null)).toList();
        return run(m, new Requests.Inputs(items, true), truncate, null, EnumSet.of(EmbedOutput.DENSE), false);
    }

    private static ServedModel embedder(Surface surface) {
        ServedModel m = surface.embedder();
        if (m == null || m.kind() != ModelKind.EMBEDDER) {
            throw TeiError.modelType("Model is not an embedding model");
        }
        return m;
    }

    /** Batch-size check, permits, then tokenize → queue → batch for every input. */
    private List<Outcome<Embedding>> run(ServedModel m, Requests.Inputs inputs, Requests.Truncate truncate,
                                         String promptName, Set<EmbedOutput> want) {
        return run(m, inputs, truncate, promptName, want, true);
    }

    private List<Outcome<Embedding>> run(ServedModel m, Requests.Inputs inputs, Requests.Truncate truncate,
                                         String promptName, Set<EmbedOutput> want, boolean checkBatchSize) {
        int n = inputs.items().size();
        if (checkBatchSize && n > m.settings().maxClientBatchSize()) {
            throw TeiError.batchSize(n, m.settings().maxClientBatchSize());
        }
        String prompt = Prompts.resolve(m, promptName);
        Truncation truncation = truncation(m, truncate);
        m.metrics().requestStarted(inputs.batch());
        if (!m.tryAcquire(n)) {
            throw TeiError.overloaded();
        }
        try {
            List<Supplier<Tokens>> tasks = new ArrayList<>(n);
            for (Requests.Input input : inputs.items()) {
                tasks.add(InputTokenizer.single(m, input, truncation, prompt));
                m.metrics().embedStarted();
            }
            return runner.run(tasks, tokens -> m.embed(tokens, want));
        } finally {
            m.release(n);
        }
    }

    static Truncation truncation(ServedModel m, Requests.Truncate truncate) {
        boolean on = truncate.truncate() != null ? truncate.truncate() : m.settings().autoTruncate();
        return Truncation.of(on, truncate.left());
    }

    /** TEI's order: cut to {@code dimensions}, then normalise. */
    private static float[] finish(float[] dense, Integer dimensions, boolean normalize) {
        float[] v = dense;
        if (dimensions != null) {
            if (dimensions > dense.length) {
                throw TeiError.validation("`dimensions` should be smaller than the maximum embedding dimension.");
            }
            v = Arrays.copyOf(dense, dimensions);
        }
        return normalize ? VectorMath.normalize(v) : v;
    }

    private static String base64(float[] v) {
        ByteBuffer bytes = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bytes.putFloat(f);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    static long characters(Requests.Inputs inputs) {
        long n = 0;
        for (Requests.Input i : inputs.items()) {
            n += i.characters();
        }
        return n;
    }

}
