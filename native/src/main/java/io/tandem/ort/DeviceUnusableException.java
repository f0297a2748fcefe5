package io.tandem.ort;

/**
 * The device asked for ({@code --device cuda:N}) cannot run a session: its libraries do not load
 * or it is not there. Nothing about the graph would change that, so a caller that retries with
 * another graph (Model.load after a rewrite fails) must not.
 */
public final class DeviceUnusableException extends InferenceException {

    public DeviceUnusableException(String message, Throwable cause) {
        super(message, cause);
    }
}
