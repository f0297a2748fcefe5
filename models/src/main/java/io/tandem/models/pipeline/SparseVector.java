package io.tandem.models.pipeline;

/** Non-zero weights by token id, ascending by id (TEI's /embed_sparse order). */
public record SparseVector(int[] indices, float[] values) {
}
