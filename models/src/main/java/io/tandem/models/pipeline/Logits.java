package io.tandem.models.pipeline;

/** A classifier's raw logits for one input, one per label. */
public record Logits(float[] values) implements ModelOutput {
}
