package io.tandem.server.http;

/**
 * An HTTP-level refusal, before a request reaches a model (wrong Content-Type, unreadable or
 * ill-shaped JSON, unknown model name), answered in TEI's error format with TEI's status.
 */
public class TeiError extends RuntimeException {

    private final int status;
    private final ErrorType type;

    public TeiError(int status, ErrorType type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    public int status() {
        return status;
    }

    public ErrorType type() {
        return type;
    }

    /** A body that is not the JSON shape a route takes (TEI: 422 from its JSON extractor). */
    public static TeiError shape(String message) {
        return new TeiError(422, ErrorType.Validation,
                "Failed to deserialize the JSON body into the target type: " + message);
    }
}
