package io.tandem.server.core;

import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Model;
import io.tandem.server.config.ModelSettings;
import io.tandem.server.metrics.TeiMetrics;

import java.util.Set;

/** Opens ServedModel's package-private backend seam to the hardening tests (test code only). */
public final class ServedModelSeam {

    private ServedModelSeam() {
    }

    /** An embedder whose batches run through {@code runner} instead of straight into the model. */
    public static ServedModel embedder(String name, Model model, ModelSettings settings, TeiMetrics metrics,
                                       BatchRunner<Set<EmbedOutput>, Embedding> runner) {
        return new ServedModel(name, "embed", model, settings, metrics, runner, null);
    }
}
