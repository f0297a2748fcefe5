package io.tandem.server.config;

/** A bad command line or environment; the message is meant to be shown to the user as is. */
public final class FlagException extends RuntimeException {
    public FlagException(String message) {
        super(message);
    }
}
