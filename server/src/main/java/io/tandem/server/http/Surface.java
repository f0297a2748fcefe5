package io.tandem.server.http;

import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.Request;
import io.tandem.server.core.ServedModel;

/**
 * The models one set of routes serves: both at the root, one on a model's own port or under
 * /models/{name}. {@code biEncoderRerank}: with no reranker, /rerank ranks by the embedder's
 * cosine similarity (at the root only; a single-model surface answers like TEI).
 */
public record Surface(ServedModel embedder, ServedModel reranker, boolean biEncoderRerank) {

    /** A surface of one model, in the slot of its kind. */
    static Surface of(ServedModel model) {
        return model.role().equals("embed") ? new Surface(model, null, false) : new Surface(null, model, false);
    }

    /** The model /info, /tokenize and /decode describe: the embedder if there is one. */
    public ServedModel primary() {
        return embedder != null ? embedder : reranker;
    }

    /** The embedder, or the route's model-type error. */
    Inference embedding(String notAvailable) {
        if (embedder == null) {
            throw InferenceError.modelType(notAvailable);
        }
        return embedder.inference();
    }

    /** What /rerank runs on: the reranker, else the embedder when bi-encoder ranking is on. */
    Inference ranking(Request.Rerank request) {
        if (reranker != null) {
            return reranker.inference();
        }
        if (biEncoderRerank && embedder != null) {
            return embedder.inference();
        }
        request.requireTexts();
        throw InferenceError.modelType("model is not a re-ranker model");
    }

    /** What /predict runs on. */
    Inference classifying() {
        if (reranker == null) {
            throw InferenceError.modelType("Model is not a classifier model");
        }
        return reranker.inference();
    }
}
