package io.tandem.server.http;

import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.LabelScore;
import io.tandem.models.infer.Rank;
import io.tandem.models.infer.Request;

import java.util.List;

/** /rerank (cross-encoder, or bi-encoder when no reranker is loaded) and /predict. */
final class RankRoutes {

    void rerank(ServerRequest req, ServerResponse res, Surface surface) {
        Requests.Rerank r = Requests.rerank(HttpIo.readJson(req));
        Answer<List<Rank>> a = surface.ranking(r.request()).rerank(r.request());
        List<String> texts = r.request().texts();
        HttpIo.sendAnswer(res, a, a.value().stream()
                .map(rank -> new Bodies.Rank(rank.index(), r.returnText() ? texts.get(rank.index()) : null, rank.score()))
                .toList());
    }

    void predict(ServerRequest req, ServerResponse res, Surface surface) {
        Request.Predict r = Requests.predict(HttpIo.readJson(req));
        Answer<List<List<LabelScore>>> a = surface.classifying().predict(r);
        List<List<Bodies.Prediction>> results = a.value().stream()
                .map(scores -> scores.stream().map(s -> new Bodies.Prediction(s.score(), s.label())).toList())
                .toList();
        HttpIo.sendAnswer(res, a, r.batch() ? results : results.getFirst());
    }
}
