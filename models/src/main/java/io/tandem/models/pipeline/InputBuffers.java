package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Set;

/**
 * Turns a batch of token rows into a graph's feeds, in reusable direct buffers that ORT reads
 * without a copy: they grow to the largest batch seen, so steady traffic allocates nothing
 * here. Owned by one inference thread.
 */
sealed interface InputBuffers permits PaddedInputs, PackedInputs {

    /** The graph inputs this layout can feed. */
    Set<String> inputNames();

    /** Fills the buffers for these rows. */
    Batch fill(List<Tokens> rows);

    /** The layout a graph's inputs call for: packed graphs are the ones fed cu_seqlens. */
    static InputBuffers forGraph(List<String> graphInputs, long padId, int positionOffset) {
        return graphInputs.contains(PackedInputs.CU_SEQLENS) ? new PackedInputs(positionOffset, padId)
                : new PaddedInputs(padId);
    }

    static LongBuffer longs(int values) {
        return ByteBuffer.allocateDirect(Math.max(values, 1) * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    static IntBuffer ints(int values) {
        return ByteBuffer.allocateDirect(Math.max(values, 1) * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
    }
}
