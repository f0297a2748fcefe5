package io.tandem.server.http;

/**
 * An error answered in TEI's format {@code {"error": ..., "error_type": ...}} with TEI's status.
 * {@code failure} is the {@code te_request_failure} label it counts as (null: not counted).
 */
public class TeiError extends RuntimeException {

    private final int status;
    private final ErrorType type;
    private final String failure;

    public TeiError(int status, ErrorType type, String message, String failure) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.failure = failure;
    }

    public int status() {
        return status;
    }

    public ErrorType type() {
        return type;
    }

    public String failure() {
        return failure;
    }

    /** 422 Validation with TEI's "Input validation error: " prefix. */
    public static TeiError validation(String message) {
        return new TeiError(422, ErrorType.Validation, "Input validation error: " + message, "validation");
    }

    /** 400 Empty with the prefix ("`inputs` cannot be empty" from tokenization). */
    public static TeiError emptyInput() {
        return new TeiError(400, ErrorType.Empty, "Input validation error: `inputs` cannot be empty", "validation");
    }

    /** 400 Empty without a prefix, as TEI's handlers write it. */
    public static TeiError empty(String message) {
        return new TeiError(400, ErrorType.Empty, message, "validation");
    }

    public static TeiError batchSize(int size, int max) {
        return new TeiError(422, ErrorType.Validation, "batch size " + size + " > maximum allowed batch size " + max,
                "batch_size");
    }

    public static TeiError overloaded() {
        return new TeiError(429, ErrorType.Overloaded, "Model is overloaded", "overloaded");
    }

    public static TeiError modelType(String message) {
        return new TeiError(424, ErrorType.Backend, "Backend error: " + message, "model_type");
    }

    public static TeiError backend(String message) {
        return new TeiError(424, ErrorType.Backend, "Backend error: " + message, "inference");
    }

    public static TeiError tokenizer(String message) {
        return new TeiError(422, ErrorType.Tokenizer, "tokenizer error " + message, "tokenization");
    }

    /** A body that is not the JSON shape a route takes (TEI: 422 from its JSON extractor). */
    public static TeiError shape(String message) {
        return new TeiError(422, ErrorType.Validation,
                "Failed to deserialize the JSON body into the target type: " + message, "validation");
    }

    public static TeiError unhealthy() {
        return new TeiError(503, ErrorType.Unhealthy, "unhealthy", null);
    }
}
