package io.tandem.ort;

/** A failed session run or session creation; the message is safe to show to clients. */
public class InferenceException extends RuntimeException {

    public InferenceException(String message, Throwable cause) {
        super(message, cause);
    }

    public InferenceException(String message) {
        super(message);
    }
}
