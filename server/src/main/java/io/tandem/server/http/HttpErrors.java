package io.tandem.server.http;

import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.tandem.models.infer.InferenceError;

/**
 * The one place failures become HTTP answers: the core's {@link InferenceError} kinds map to
 * TEI's statuses and error types, HTTP's own refusals ({@link TeiError}) carry theirs. The
 * OpenAI routes answer in OpenAI's error shape, the Cohere/Jina rerank routes in Cohere's
 * ({@link CohereRerank#status}). (Helidon's own, such as an unknown path's 404, are answered by
 * the server's direct handlers.)
 */
final class HttpErrors {

    private HttpErrors() {
    }

    static void register(HttpRouting.Builder routing) {
        routing.error(InferenceError.class, (req, res, e) -> send(req, res, e));
        routing.error(TeiError.class, (req, res, e) -> send(req, res, e.status(), e.type(), e.getMessage()));
    }

    static void send(ServerRequest req, ServerResponse res, InferenceError e) {
        send(req, res, status(e.kind()), type(e.kind()), e.getMessage());
    }

    private static void send(ServerRequest req, ServerResponse res, int status, ErrorType type, String message) {
        if (res.isSent()) {
            return;
        }
        if (CohereRerank.route(req.path().path())) {
            int cohere = CohereRerank.status(status);
            HttpIo.send(res, cohere, new CohereRerank.Error(message));
        } else {
            HttpIo.sendError(res, status, type, message, openAi(req));
        }
    }

    /** TEI's status for each kind of failure. */
    static int status(InferenceError.Kind kind) {
        return switch (kind) {
            case EMPTY -> 400;
            case VALIDATION, BATCH_SIZE, TOKENIZER -> 422;
            case MODEL_TYPE, BACKEND -> 424;
            case OVERLOADED -> 429;
            case TOO_LARGE -> 413;
            case UNHEALTHY, OUT_OF_MEMORY -> 503;
            case TIMEOUT -> 504;
            case CANCELLED -> 499; // nginx's "client closed request": nobody reads it
        };
    }

    static ErrorType type(InferenceError.Kind kind) {
        return switch (kind) {
            case EMPTY -> ErrorType.Empty;
            case VALIDATION, BATCH_SIZE, TOO_LARGE -> ErrorType.Validation;
            case TOKENIZER -> ErrorType.Tokenizer;
            case MODEL_TYPE, BACKEND -> ErrorType.Backend;
            case OVERLOADED, TIMEOUT, OUT_OF_MEMORY, CANCELLED -> ErrorType.Overloaded;
            case UNHEALTHY -> ErrorType.Unhealthy;
        };
    }

    /** The OpenAI-compatible routes (/v1/embeddings, /embeddings, also under /models/{name}). */
    private static boolean openAi(ServerRequest req) {
        return req.path().path().endsWith("/embeddings");
    }
}
