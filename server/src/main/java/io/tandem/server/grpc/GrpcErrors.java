package io.tandem.server.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.tandem.models.infer.InferenceError;

import java.util.concurrent.CompletionException;

/** The one place failures become gRPC statuses: TEI's codes for the core's error kinds, TEI's messages. */
final class GrpcErrors {

    private GrpcErrors() {
    }

    /** TEI's {@code impl From<ErrorResponse> for Status} (router/src/grpc/server.rs), kind by kind. */
    static Status.Code code(InferenceError.Kind kind) {
        return switch (kind) {
            case EMPTY, VALIDATION, BATCH_SIZE -> Status.Code.INVALID_ARGUMENT;
            case TOKENIZER, MODEL_TYPE, BACKEND -> Status.Code.FAILED_PRECONDITION;
            case OVERLOADED, TOO_LARGE, OUT_OF_MEMORY -> Status.Code.RESOURCE_EXHAUSTED;
            case TIMEOUT -> Status.Code.DEADLINE_EXCEEDED;
            case CANCELLED -> Status.Code.CANCELLED;
            case UNHEALTHY -> Status.Code.UNAVAILABLE;
        };
    }

    /** Any failure of a call as the status its client gets; nothing internal leaves (see InferenceError.from). */
    static StatusRuntimeException status(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof StatusRuntimeException s) {
            return s;
        }
        InferenceError error = InferenceError.from(cause);
        return Status.fromCode(code(error.kind())).withDescription(error.getMessage()).asRuntimeException();
    }
}
