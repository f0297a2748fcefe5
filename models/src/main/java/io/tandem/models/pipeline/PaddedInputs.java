package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.InputTensor;

import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Right-padded [batch, seq] int64 ids, attention mask and token types: what exporters produce. */
final class PaddedInputs implements InputBuffers {

    private final long padId;
    private LongBuffer ids = InputBuffers.longs(0);
    private LongBuffer mask = InputBuffers.longs(0);
    private LongBuffer types = InputBuffers.longs(0);

    PaddedInputs(long padId) {
        this.padId = padId;
    }

    @Override
    public Set<String> inputNames() {
        return Set.of("input_ids", "attention_mask", "token_type_ids");
    }

    @Override
    public Batch fill(List<Tokens> rows) {
        int seq = 0;
        for (Tokens row : rows) {
            seq = Math.max(seq, row.length());
        }
        int need = rows.size() * seq;
        if (ids.capacity() < need) {
            ids = InputBuffers.longs(need);
            mask = InputBuffers.longs(need);
            types = InputBuffers.longs(need);
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
        long[] shape = {rows.size(), seq};
        return new Batch(Map.of("input_ids", new InputTensor(ids, shape), "attention_mask", new InputTensor(mask, shape),
                "token_type_ids", new InputTensor(types, shape)), null, need, 0);
    }
}
