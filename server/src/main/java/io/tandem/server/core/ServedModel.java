package io.tandem.server.core;

import io.tandem.models.ModelKind;
import io.tandem.models.infer.Inference;
import io.tandem.server.config.ModelSettings;

/**
 * A model as the server serves it: its inference core, the slot it fills and the settings
 * /info reports.
 *
 * @param role "embed" or "rerank": the slot it fills, also usable in /models/{name}
 */
public record ServedModel(String role, Inference inference, ModelSettings settings) implements AutoCloseable {

    /** The served model name (TEI's served_model_name). */
    public String name() {
        return inference.name();
    }

    public ModelKind kind() {
        return inference.kind();
    }

    @Override
    public void close() {
        inference.close();
    }
}
