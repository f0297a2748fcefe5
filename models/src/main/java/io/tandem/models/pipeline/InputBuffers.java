package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Right-padded [batch, seq] int64 inputs in direct buffers that ORT reads without a copy.
 * The buffers grow to the largest batch seen and are reused, so steady traffic allocates
 * nothing here. Owned by one inference thread.
 */
final class InputBuffers {

    private final long padId;
    private LongBuffer ids = allocate(0);
    private LongBuffer mask = allocate(0);
    private LongBuffer types = allocate(0);

    InputBuffers(long padId) {
        this.padId = padId;
    }

    /** Fills the buffers for these rows; returns the padded sequence length. */
    int fill(List<Tokens> rows) {
        int seq = 0;
        for (Tokens row : rows) {
            seq = Math.max(seq, row.length());
        }
        int need = rows.size() * seq;
        if (ids.capacity() < need) {
            ids = allocate(need);
            mask = allocate(need);
            types = allocate(need);
        }
        int p = 0;
        for (Tokens row : rows) {
            int n = row.length();
            for (int t = 0; t < seq; t++, p++) {
                boolean real = t < n;
                ids.put(p, real ? row.ids()[t] : padId);
                mask.put(p, real ? 1 : 0);
                types.put(p, real ? row.typeIds()[t] : 0);
            }
        }
        return seq;
    }

    /** The buffers by the input names a graph may use. */
    Map<String, LongBuffer> byName() {
        Map<String, LongBuffer> byName = new HashMap<>();
        byName.put("input_ids", ids);
        byName.put("attention_mask", mask);
        byName.put("token_type_ids", types);
        return byName;
    }

    private static LongBuffer allocate(int values) {
        return ByteBuffer.allocateDirect(Math.max(values, 1) * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }
}
