package io.tandem.models;

/** A model folder that cannot be served, with a message that says what is missing or wrong. */
public class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
