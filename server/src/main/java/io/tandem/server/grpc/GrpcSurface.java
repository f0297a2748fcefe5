package io.tandem.server.grpc;

import io.tandem.models.ModelKind;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceError;
import io.tandem.server.core.ServedModel;
import io.tandem.server.http.Surface;

import java.util.concurrent.Executor;

/**
 * What one gRPC listener serves: the same {@link Surface} as the HTTP listener on its port
 * (both models at the root, one on a model's own port), the executor its calls' work runs on,
 * and the server-wide facts Info reports.
 */
record GrpcSurface(Surface models, Executor executor, int tokenizationWorkers) {

    /** The embedder, or the model-type error the HTTP route gives. */
    Inference embedder(String notAvailable) {
        if (models.embedder() == null) {
            throw InferenceError.modelType(notAvailable);
        }
        return models.embedder().inference();
    }

    /**
     * What Rerank runs on: the reranker, else at the root the embedder (cosine ranking, as
     * /rerank). Without either TEI's gRPC answers FAILED_PRECONDITION with a bare message: "model
     * is not a classifier model" from an embedding model, "... re-ranker ..." from a classifier.
     */
    Inference ranker() {
        ServedModel reranker = models.reranker();
        if (reranker != null && reranker.kind() == ModelKind.RERANKER) {
            return reranker.inference();
        }
        if (reranker == null && models.biEncoderRerank() && models.embedder() != null) {
            return models.embedder().inference();
        }
        throw new InferenceError(InferenceError.Kind.MODEL_TYPE, reranker != null
                ? "model is not a re-ranker model" : "model is not a classifier model");
    }

    /** What Predict runs on. */
    Inference classifier() {
        if (models.reranker() == null) {
            throw InferenceError.modelType("Model is not a classifier model");
        }
        return models.reranker().inference();
    }

    /** The model Info, Tokenize and Decode describe: the embedder if there is one. */
    ServedModel primary() {
        return models.primary();
    }
}
