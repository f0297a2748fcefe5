package io.tandem.models.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a tokenizer's post-processor puts its special tokens around one sequence or a pair
 * ({@code <s> A </s></s> B </s>} for XLM-R, {@code [CLS] A [SEP] B [SEP]} for BERT), learnt
 * from a probe encoding. Tandem truncates the content itself and then applies this template,
 * so the truncation direction and the pair strategy are under its control.
 */
record SpecialTemplate(Part prefix, Part middle, Part suffix, long typeA, long typeB) {

    /** A run of special tokens with their type ids. */
    record Part(long[] ids, long[] types) {
        int length() {
            return ids.length;
        }
    }

    /**
     * @param ids     a probe encoding with special tokens
     * @param special its special-token mask
     * @param typeIds its type ids
     * @param pair    whether the probe was a pair
     */
    static SpecialTemplate learn(long[] ids, long[] special, long[] typeIds, boolean pair) {
        List<List<long[]>> groups = new ArrayList<>();
        groups.add(new ArrayList<>());
        long[] contentTypes = new long[2];
        int contentRuns = 0;
        boolean inContent = false;
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 1) {
                if (inContent) {
                    groups.add(new ArrayList<>());
                    inContent = false;
                }
                groups.getLast().add(new long[] {ids[i], typeIds[i]});
            } else {
                if (!inContent && contentRuns < 2) {
                    contentTypes[contentRuns] = typeIds[i];
                }
                if (!inContent) {
                    contentRuns++;
                }
                inContent = true;
            }
        }
        if (inContent) {
            groups.add(new ArrayList<>());
        }
        int runs = pair ? 2 : 1;
        if (contentRuns != runs || groups.size() != runs + 1) {
            throw new IllegalStateException("unsupported special-token template: " + Arrays.toString(ids));
        }
        Part empty = new Part(new long[0], new long[0]);
        return new SpecialTemplate(part(groups.getFirst()), pair ? part(groups.get(1)) : empty,
                part(groups.getLast()), contentTypes[0], contentTypes[1]);
    }

    int added() {
        return prefix.length() + middle.length() + suffix.length();
    }

    /** The model input for content a (and b, for a pair; null otherwise). */
    Tokens build(long[] a, long[] b, boolean truncated) {
        int n = added() + a.length + (b == null ? 0 : b.length);
        long[] ids = new long[n];
        long[] types = new long[n];
        int p = put(ids, types, 0, prefix);
        p = put(ids, types, p, a, typeA);
        if (b != null) {
            p = put(ids, types, p, middle);
            p = put(ids, types, p, b, typeB);
        }
        put(ids, types, p, suffix);
        return new Tokens(ids, types, truncated);
    }

    private static int put(long[] ids, long[] types, int p, Part part) {
        System.arraycopy(part.ids(), 0, ids, p, part.length());
        System.arraycopy(part.types(), 0, types, p, part.length());
        return p + part.length();
    }

    private static int put(long[] ids, long[] types, int p, long[] values, long type) {
        System.arraycopy(values, 0, ids, p, values.length);
        Arrays.fill(types, p, p + values.length, type);
        return p + values.length;
    }

    private static Part part(List<long[]> tokens) {
        return new Part(tokens.stream().mapToLong(t -> t[0]).toArray(), tokens.stream().mapToLong(t -> t[1]).toArray());
    }
}
