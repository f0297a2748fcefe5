package io.tandem.models.hub;

import io.tandem.models.ModelLoadException;

/**
 * A hub model that cannot be fetched or found in the cache. A {@link ModelLoadException}, so the
 * server reports it like any other model that cannot be loaded.
 */
public class HubException extends ModelLoadException {

    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
