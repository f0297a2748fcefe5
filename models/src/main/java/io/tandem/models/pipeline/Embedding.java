package io.tandem.models.pipeline;

/**
 * The outputs computed for one input; fields not asked for are null.
 *
 * @param dense  the pooled vector, unnormalised
 * @param tokens per-token vectors (ColBERT, normalised; or raw hidden states)
 * @param sparse lexical weights
 */
public record Embedding(float[] dense, float[][] tokens, SparseVector sparse) implements ModelOutput {
}
