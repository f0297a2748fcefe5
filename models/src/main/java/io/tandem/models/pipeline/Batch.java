package io.tandem.models.pipeline;

import io.tandem.ort.InputTensor;
import io.tandem.ort.OutputTensor;

import java.util.Map;

/**
 * A filled batch: the graph's feeds and where each row's tokens landed.
 *
 * @param starts for a packed batch, where each row starts among the concatenated tokens;
 *               null for a padded [rows, seq] batch
 * @param cost    tokens the GPU computes on: rows × seq when padded, the real tokens when packed
 * @param shapeId the id of the fixed shape the batch was filled at (ShapeBuckets), or 0
 */
record Batch(Map<String, InputTensor> feeds, int[] starts, long cost, int shapeId) {

    /**
     * Index of token {@code token} of row {@code b} in a per-token output. Padded outputs are
     * [rows, n, ...] and may start at a later token ({@code first}: ColBERT skips CLS); packed
     * outputs hold every token of every row.
     */
    int tokenRow(OutputTensor output, int b, int token, int first) {
        return starts != null ? starts[b] + token : b * output.dim(1) + token - first;
    }
}
