package io.tandem.models.infer;

import io.tandem.models.tokenize.InputTooLongException;
import io.tandem.models.tokenize.TokenizerException;
import io.tandem.ort.InferenceException;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Why a request could not be served: a kind and TEI's message for it. The one error type of
 * the core; the HTTP layer maps the kind to a status and TEI's {@code error_type}.
 */
public final class InferenceError extends RuntimeException {

    /** What went wrong, as TEI's error types and {@code te_request_failure} labels tell it apart. */
    public enum Kind {
        /** An empty input or list (TEI: 400 Empty). */
        EMPTY("validation"),
        /** Input that breaks a rule: too long, bad option, unknown prompt (TEI: 422 Validation). */
        VALIDATION("validation"),
        /** More inputs than --max-client-batch-size (TEI: 422 Validation). */
        BATCH_SIZE("batch_size"),
        /** The model cannot do what the route asks (TEI: 424 Backend). */
        MODEL_TYPE("model_type"),
        /** No permits left (TEI: 429 Overloaded). */
        OVERLOADED("overloaded"),
        /** The tokenizer refused the input (TEI: 422 Tokenizer). */
        TOKENIZER("tokenization"),
        /** The model failed while running (TEI: 424 Backend). */
        BACKEND("inference"),
        /** The answer would be larger than allowed (Tandem: 413). */
        TOO_LARGE("validation"),
        /** The request's deadline passed while it waited (Tandem: 504; TEI has no deadline). */
        TIMEOUT("timeout"),
        /** The process ran out of memory serving it (Tandem: 503; the model stays usable). */
        OUT_OF_MEMORY("inference"),
        /** The caller went away (its thread was interrupted); its queued inputs are dropped, not counted here. */
        CANCELLED(null),
        /** The model cannot serve right now (TEI: 503 Unhealthy); not a request failure. */
        UNHEALTHY(null);

        private final String failureLabel;

        Kind(String failureLabel) {
            this.failureLabel = failureLabel;
        }

        /** The {@code err} label of {@code te_request_failure}, or null when it is not counted. */
        public String failureLabel() {
            return failureLabel;
        }
    }

    private static final Logger LOG = Logger.getLogger(InferenceError.class.getName());
    private static final Pattern SOURCE_PATH = Pattern.compile("(/[\\w.+-]+)+(:\\d+)?\\s*");

    private final Kind kind;

    public InferenceError(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** TEI's "Input validation error: " messages. */
    public static InferenceError validation(String message) {
        return new InferenceError(Kind.VALIDATION, "Input validation error: " + message);
    }

    /** An empty input, found while tokenizing. */
    public static InferenceError emptyInput() {
        return new InferenceError(Kind.EMPTY, "Input validation error: `inputs` cannot be empty");
    }

    /** An empty list, as TEI's handlers word it (no prefix). */
    public static InferenceError empty(String message) {
        return new InferenceError(Kind.EMPTY, message);
    }

    public static InferenceError batchSize(int size, int max) {
        return new InferenceError(Kind.BATCH_SIZE, "batch size " + size + " > maximum allowed batch size " + max);
    }

    public static InferenceError overloaded() {
        return new InferenceError(Kind.OVERLOADED, "Model is overloaded");
    }

    public static InferenceError modelType(String message) {
        return new InferenceError(Kind.MODEL_TYPE, "Backend error: " + message);
    }

    public static InferenceError backend(String message) {
        return new InferenceError(Kind.BACKEND, "Backend error: " + message);
    }

    public static InferenceError timeout(Duration limit) {
        return new InferenceError(Kind.TIMEOUT, "Request timed out: not served within " + seconds(limit)
                + " s (--request-timeout)");
    }

    public static InferenceError unhealthy() {
        return new InferenceError(Kind.UNHEALTHY, "unhealthy");
    }

    /**
     * Any failure from below (tokenizer, ONNX Runtime, a bug) as the error a client gets. ORT's
     * messages name its source files and our model paths: clients get neither. Anything
     * unexpected is logged here and answered without internals.
     */
    public static InferenceError from(Throwable e) {
        return switch (e) {
            case InferenceError error -> error;
            case Throwable t when outOfMemory(t) -> {
                LOG.log(Level.SEVERE, "out of memory while serving a request: " + t.getMessage());
                yield new InferenceError(Kind.OUT_OF_MEMORY, "Out of memory: the server cannot serve this request now");
            }
            case InputTooLongException t -> validation(t.getMessage());
            case CancellationException c -> new InferenceError(Kind.CANCELLED, "Request cancelled");
            case TokenizerException t -> new InferenceError(Kind.TOKENIZER, "tokenizer error " + t.getMessage());
            case InferenceException t -> backend(withoutPaths(t.getMessage()));
            default -> {
                LOG.log(Level.WARNING, "request failed", e);
                yield backend("unexpected failure while serving the request");
            }
        };
    }

    /** An OutOfMemoryError, also as the cause of a failed batch. */
    private static boolean outOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? Long.toString(d.toSeconds()) : Double.toString(d.toMillis() / 1000.0);
    }

    static String withoutPaths(String message) {
        return message == null ? "" : SOURCE_PATH.matcher(message).replaceAll("");
    }
}
