package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fixed shapes small packed batches are run at, so that each shape's CUDA graph can be
 * captured once and replayed (a replay is one launch where a bge-m3 query is ~250 kernels and
 * ~2 ms of launching on an H200, issue 15). A batch is rounded up to a bucket of {@code tokens}
 * tokens in {@code rows} rows, no row longer than {@code seq}: filler rows after the real ones
 * take the tokens left over (each a row of its own, so attention keeps them apart and the real
 * rows' outputs are what they would be alone). Buckets step finely (powers of two to 512 tokens,
 * then every 256; rows in fours) so that filler stays a small share of the work. Ids are handed
 * out in order of first use; a bucket is the key, the id names its captured graph. Buckets stay
 * tight in rows × longest row because each captured graph keeps its own attention workspace,
 * which ORT sizes for the padded layout (3 × rows × longest row × hidden): 17 coarse buckets of
 * 64 rows each, captured at load, held 15.7 GB on the H200.
 */
final class ShapeBuckets {

    /** Above this many tokens a batch keeps the GPU busy on its own: launches are not what it waits on. */
    static final int MAX_TOKENS = 4096;
    static final int MAX_ROWS = 64;
    private static final int ROW_STEP = 4;

    /** A fixed packed shape: total tokens, rows (real and filler) and the longest row allowed. */
    record Bucket(int tokens, int rows, int seq) {
    }

    private final int longestRow;
    private final int maxShapes;
    private final Map<Bucket, Integer> ids = new HashMap<>();

    /**
     * @param longestRow the model's token limit (position embeddings bound filler rows too)
     * @param maxShapes  how many buckets get an id; batches of further shapes run unbucketed
     */
    ShapeBuckets(int longestRow, int maxShapes) {
        this.longestRow = longestRow;
        this.maxShapes = maxShapes;
    }

    /** The bucket these rows run in, or null when they are too large for any. */
    Bucket bucketOf(List<Tokens> rows) {
        int real = rows.size();
        int total = 0;
        int longest = 0;
        for (Tokens row : rows) {
            total += row.length();
            longest = Math.max(longest, row.length());
        }
        for (int tokens = nextTokens(total); tokens <= MAX_TOKENS; tokens = nextTokens(tokens + 1)) {
            int filler = tokens - total;
            int fillerRows = ceil(filler, longestRow);
            int bucketRows = Math.max(ROW_STEP, ceil(real + fillerRows, ROW_STEP) * ROW_STEP);
            if (bucketRows > MAX_ROWS) {
                return null;
            }
            fillerRows = bucketRows - real;
            if (fillerRows == 0 ? filler != 0 : filler < fillerRows) {
                continue; // every filler row needs a token: take the next size up
            }
            int seq = Math.max(longest, fillerRows == 0 ? 0 : ceil(filler, fillerRows));
            return new Bucket(tokens, bucketRows, Math.min(Integer.highestOneBit(Math.max(seq, 16) - 1) << 1, longestRow));
        }
        return null;
    }

    /** The id of a bucket (1, 2, ... in order of first use), or 0 once {@code maxShapes} ids are out. */
    synchronized int idOf(Bucket bucket) {
        Integer id = ids.get(bucket);
        if (id == null) {
            if (ids.size() >= maxShapes) {
                return 0;
            }
            id = ids.size() + 1;
            ids.put(bucket, id);
        }
        return id;
    }

    /** Lengths of the filler rows: the leftover tokens spread evenly, one row per leftover row. */
    static int[] fillerLengths(int filler, int rows) {
        int[] lengths = new int[rows];
        for (int i = 0; i < rows; i++) {
            lengths[i] = filler / rows + (i < filler % rows ? 1 : 0);
        }
        return lengths;
    }

    /** The smallest size on the ladder at or above {@code tokens}: 16, 32 ... 512, then steps of 256. */
    static int nextTokens(int tokens) {
        if (tokens <= 16) {
            return 16;
        }
        if (tokens <= 512) {
            return Integer.highestOneBit(tokens - 1) << 1;
        }
        return ceil(tokens, 256) * 256;
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
