package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.InputTensor;

import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every row's tokens back to back, no padding (models/export/packed_graph.py): the GPU computes
 * only real tokens, and attention finds the rows through cu_seqlens.
 */
final class PackedInputs implements InputBuffers {

    static final String CU_SEQLENS = "cu_seqlens";

    private final int positionOffset;
    private final long padId;
    private LongBuffer ids = InputBuffers.longs(0);
    private LongBuffer positions = InputBuffers.longs(0);
    private IntBuffer tokenOffset = InputBuffers.ints(0);
    private IntBuffer cuSeqlens = InputBuffers.ints(0);

    /**
     * @param positionOffset the first position id (pad id + 1 for the RoBERTa family, else 0)
     * @param padId          the id filler rows are made of
     */
    PackedInputs(int positionOffset, long padId) {
        this.positionOffset = positionOffset;
        this.padId = padId;
    }

    @Override
    public Set<String> inputNames() {
        return Set.of("input_ids", "position_ids", "token_offset", CU_SEQLENS);
    }

    @Override
    public Batch fill(List<Tokens> rows) {
        int seq = 0;
        int real = 0;
        for (Tokens row : rows) {
            seq = Math.max(seq, row.length());
            real += row.length();
        }
        return fill(rows, real, new int[0], seq, 0);
    }

    /**
     * Fills the rows at a bucket's fixed shape: filler rows of pad ids after the real ones take
     * the bucket's leftover tokens (see {@link ShapeBuckets}); {@code shapeId} names the shape.
     */
    Batch fill(List<Tokens> rows, ShapeBuckets.Bucket bucket, int shapeId) {
        int real = 0;
        for (Tokens row : rows) {
            real += row.length();
        }
        int[] filler = ShapeBuckets.fillerLengths(bucket.tokens() - real, bucket.rows() - rows.size());
        return fill(rows, real, filler, bucket.seq(), shapeId);
    }

    /** @param real the rows' tokens, summed by the caller, which needed them first */
    private Batch fill(List<Tokens> rows, int real, int[] filler, int seq, int shapeId) {
        int batch = rows.size() + filler.length;
        int total = real;
        for (int length : filler) {
            total += length;
        }
        if (ids.capacity() < total) {
            ids = InputBuffers.longs(total);
            positions = InputBuffers.longs(total);
        }
        if (tokenOffset.capacity() < batch * seq) {
            tokenOffset = InputBuffers.ints(batch * seq);
        }
        if (cuSeqlens.capacity() < batch + 1) {
            cuSeqlens = InputBuffers.ints(batch + 1);
        }
        int[] starts = new int[rows.size()];
        int p = 0;
        int padding = total;
        cuSeqlens.put(0, 0);
        for (int b = 0; b < batch; b++) {
            Tokens row = b < rows.size() ? rows.get(b) : null;
            int length = row != null ? row.length() : filler[b - rows.size()];
            if (row != null) {
                starts[b] = p;
            }
            for (int t = 0; t < length; t++, p++) {
                ids.put(p, row != null ? row.ids()[t] : padId);
                positions.put(p, positionOffset + t);
                tokenOffset.put(p, b * seq + t);
            }
            // token_offset as ORT's RemovePadding writes it: the real tokens' positions in the
            // padded [batch, seq] layout first, then the padding's.
            for (int t = length; t < seq; t++) {
                tokenOffset.put(padding++, b * seq + t);
            }
            cuSeqlens.put(b + 1, p);
        }
        return new Batch(Map.of(
                "input_ids", new InputTensor(ids, new long[]{total}),
                "position_ids", new InputTensor(positions, new long[]{total}),
                "token_offset", new InputTensor(tokenOffset, new long[]{batch, seq}),
                CU_SEQLENS, new InputTensor(cuSeqlens, new long[]{batch + 1})), starts, real, shapeId);
    }
}
