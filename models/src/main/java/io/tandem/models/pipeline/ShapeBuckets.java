package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.List;

/**
 * The fixed shapes small packed batches are run at, so that each shape's CUDA graph can be
 * captured once and replayed (a replay is one launch where a bge-m3 query is ~250 kernels and
 * ~2 ms of launching on an H200, issue 15). A batch is rounded up to a bucket of {@code tokens}
 * tokens in {@link #ROWS} rows: filler rows after the real ones take the tokens left over (each
 * a row of its own, so attention keeps them apart and the real rows' outputs are what they would
 * be alone). A bucket is named by its tokens alone (rows fixed, rows no longer than the model's
 * limit), so a model has {@link #sizes()} buckets in all and captures every one at load: its
 * memory is then what it will stay (with one bucket per rows × tokens × longest row, 10,000
 * mixed requests captured new graphs all along, +322 MiB on the H200).
 */
final class ShapeBuckets {

    /** Above this many tokens a batch keeps the GPU busy on its own: launches are not what it waits on. */
    static final int MAX_TOKENS = 4096;
    /** Rows of every bucket, filler included: packed rows cost nothing but their tokens. */
    static final int ROWS = 64;
    /** The smallest bucket: one token for each filler row and a short query. */
    static final int MIN_TOKENS = 128;

    /** A fixed packed shape: total tokens, rows (real and filler) and the longest row allowed. */
    record Bucket(int tokens, int rows, int seq) {
    }

    private final int longestRow;

    /** @param longestRow the model's token limit (position embeddings bound filler rows too) */
    ShapeBuckets(int longestRow) {
        this.longestRow = longestRow;
    }

    /** The bucket these rows run in, or null when they do not fit one. */
    Bucket bucketOf(List<Tokens> rows) {
        int fillerRows = ROWS - rows.size();
        int total = 0;
        for (Tokens row : rows) {
            total += row.length();
        }
        for (int tokens = nextTokens(total); tokens <= MAX_TOKENS; tokens = nextTokens(tokens + 1)) {
            int filler = tokens - total;
            int seq = Math.min(tokens, longestRow);
            if (fillerRows == 0 ? filler != 0 : filler < fillerRows) {
                continue; // every filler row needs a token: take the next size up
            }
            if (fillerRows < 0 || filler > (long) fillerRows * seq) {
                return null; // the leftover does not fit the filler rows, nor will it in a larger bucket
            }
            return new Bucket(tokens, ROWS, seq);
        }
        return null;
    }

    /** Every bucket, smallest first. */
    List<Bucket> sizes() {
        List<Bucket> all = new ArrayList<>();
        for (int tokens = MIN_TOKENS; tokens <= MAX_TOKENS; tokens = nextTokens(tokens + 1)) {
            all.add(new Bucket(tokens, ROWS, Math.min(tokens, longestRow)));
        }
        return all;
    }

    /** A batch of one row that runs in {@code bucket}: the longest its filler rows leave room for. */
    static int lengthFilling(Bucket bucket) {
        return Math.min(bucket.seq(), bucket.tokens() - (bucket.rows() - 1));
    }

    /** The bucket's id for its captured graph: 1, 2, ... by size. */
    static int idOf(Bucket bucket) {
        int id = 1;
        for (int tokens = MIN_TOKENS; tokens < bucket.tokens(); tokens = nextTokens(tokens + 1)) {
            id++;
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

    /** The smallest size on the ladder at or above {@code tokens}: 128, 256, 512, then steps of 256. */
    static int nextTokens(int tokens) {
        if (tokens <= MIN_TOKENS) {
            return MIN_TOKENS;
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
