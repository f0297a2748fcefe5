package io.tandem.models.pipeline;

/** What a model computes for one input: an embedder's outputs or a classifier's logits. */
public sealed interface ModelOutput permits Embedding, Logits {
}
