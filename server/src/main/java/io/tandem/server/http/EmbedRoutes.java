package io.tandem.server.http;

import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Request;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.SparseVector;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** /embed, /embed_all, /embed_sparse, /similarity and the OpenAI /v1/embeddings: JSON in, the core, JSON out. */
final class EmbedRoutes {

    private static final String NOT_AN_EMBEDDER = "Model is not an embedding model";
    private static final String NO_SPARSE = "Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling";

    void embed(ServerRequest req, ServerResponse res, Surface surface) {
        Request.Embed r = Requests.embed(HttpIo.readJson(req));
        Answer<List<Embedding>> a = surface.embedding(NOT_AN_EMBEDDER).embed(r);
        HttpIo.sendAnswer(res, a, a.value().stream().map(Embedding::dense).toList());
    }

    void embedAll(ServerRequest req, ServerResponse res, Surface surface) {
        Request.Embed r = Requests.embedAll(HttpIo.readJson(req), EmbedOutput.TOKENS);
        Answer<List<Embedding>> a = surface.embedding(NOT_AN_EMBEDDER).embed(r);
        HttpIo.sendAnswer(res, a, a.value().stream().map(Embedding::tokens).toList());
    }

    void embedSparse(ServerRequest req, ServerResponse res, Surface surface) {
        Request.Embed r = Requests.embedAll(HttpIo.readJson(req), EmbedOutput.SPARSE);
        Answer<List<Embedding>> a = surface.embedding(NO_SPARSE).embed(r);
        HttpIo.sendAnswer(res, a, a.value().stream().map(e -> sparse(e.sparse())).toList());
    }

    void similarity(ServerRequest req, ServerResponse res, Surface surface) {
        Request.Similarity r = Requests.similarity(HttpIo.readJson(req));
        Answer<List<Float>> a = surface.embedding(NOT_AN_EMBEDDER).similarity(r);
        HttpIo.sendAnswer(res, a, a.value());
    }

    void openAi(ServerRequest req, ServerResponse res, Surface surface) {
        Requests.OpenAi r = Requests.openAi(HttpIo.readJson(req));
        var model = surface.embedding(NOT_AN_EMBEDDER);
        Answer<List<Embedding>> a = model.embed(r.request());
        List<Bodies.OpenAiEmbedding> data = new ArrayList<>(a.value().size());
        for (int i = 0; i < a.value().size(); i++) {
            float[] v = a.value().get(i).dense();
            data.add(new Bodies.OpenAiEmbedding("embedding", r.base64() ? base64(v) : v, i));
        }
        HttpIo.sendAnswer(res, a, new Bodies.OpenAiEmbeddings("list", data, model.name(),
                new Bodies.OpenAiUsage(a.tokens(), a.tokens())));
    }

    private static List<Bodies.SparseValue> sparse(SparseVector v) {
        List<Bodies.SparseValue> entries = new ArrayList<>(v.indices().length);
        for (int i = 0; i < v.indices().length; i++) {
            entries.add(new Bodies.SparseValue(v.indices()[i], v.values()[i]));
        }
        return entries;
    }

    private static String base64(float[] v) {
        ByteBuffer bytes = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bytes.putFloat(f);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
