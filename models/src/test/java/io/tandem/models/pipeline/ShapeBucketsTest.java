package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeBucketsTest {

    @Test
    void theIssuesSingleQueriesGetSmallBuckets() {
        ShapeBuckets buckets = new ShapeBuckets(8192, 64);
        // /embed of one 16-token query: 16 filler tokens in 3 rows, attention at 16.
        assertEquals(new ShapeBuckets.Bucket(32, 4, 16), buckets.bucketOf(rows(16)));
        // /rerank of 20 pairs of 128 tokens: an exact fit, no filler.
        assertEquals(new ShapeBuckets.Bucket(2560, 20, 128), buckets.bucketOf(rows(128, 20)));
        // 20 pairs of 120-ish tokens: 256 more tokens, 4 filler rows of 64 at most.
        List<Tokens> ragged = new ArrayList<>(rows(120, 19));
        ragged.add(row(131));
        assertEquals(new ShapeBuckets.Bucket(2560, 24, 256), buckets.bucketOf(ragged));
    }

    @Test
    void largeBatchesRunAsTheyAre() {
        ShapeBuckets buckets = new ShapeBuckets(8192, 64);
        assertNull(buckets.bucketOf(rows(512, 9)), "4,608 tokens");
        assertNull(buckets.bucketOf(rows(15, 64)), "64 rows leave no room for a filler row");
        assertEquals(new ShapeBuckets.Bucket(1024, 64, 16), buckets.bucketOf(rows(16, 64)), "but need none here");
        assertEquals(64, buckets.bucketOf(rows(16, 60)).rows());
    }

    @Test
    void everyBucketHoldsItsRowsAndFillerRowsTheModelCanRun() {
        Random random = new Random(11);
        for (int longestRow : new int[] {512, 8192}) {
            ShapeBuckets buckets = new ShapeBuckets(longestRow, 64);
            for (int i = 0; i < 1_500; i++) {
                int n = 1 + random.nextInt(64);
                List<Tokens> batch = new ArrayList<>();
                int total = 0;
                int longest = 0;
                for (int r = 0; r < n; r++) {
                    int length = 1 + random.nextInt(random.nextBoolean() ? 32 : longestRow);
                    batch.add(row(length));
                    total += length;
                    longest = Math.max(longest, length);
                }
                ShapeBuckets.Bucket b = buckets.bucketOf(batch);
                if (b == null) {
                    // Within a row step of either cap, filler rows may find no room.
                    assertTrue(total > ShapeBuckets.MAX_TOKENS - 4 || n > ShapeBuckets.MAX_ROWS - 4,
                            "only batches near or over the limits are left out: " + n + " rows, " + total);
                    continue;
                }
                assertTrue(b.tokens() >= total && b.tokens() <= ShapeBuckets.MAX_TOKENS);
                assertTrue(b.rows() >= n && b.rows() <= ShapeBuckets.MAX_ROWS && b.rows() % 4 == 0);
                assertTrue(b.seq() >= longest && b.seq() <= longestRow, b + " longest " + longest);
                int[] filler = ShapeBuckets.fillerLengths(b.tokens() - total, b.rows() - n);
                int sum = 0;
                for (int length : filler) {
                    assertTrue(length >= 1 && length <= b.seq(), b + ": filler row of " + length);
                    sum += length;
                }
                assertEquals(b.tokens() - total, sum, b.toString());
                assertTrue(b.tokens() - total < Math.max(b.tokens() / 2, 64) + (b.rows() - n),
                        "filler stays a small share: " + b + " for " + total);
            }
        }
    }

    @Test
    void idsAreGivenInOrderUpToTheCap() {
        ShapeBuckets buckets = new ShapeBuckets(512, 2);
        ShapeBuckets.Bucket a = new ShapeBuckets.Bucket(32, 4, 16);
        ShapeBuckets.Bucket b = new ShapeBuckets.Bucket(64, 4, 32);
        assertEquals(1, buckets.idOf(a));
        assertEquals(2, buckets.idOf(b));
        assertEquals(1, buckets.idOf(a));
        assertEquals(0, buckets.idOf(new ShapeBuckets.Bucket(128, 4, 32)), "past the cap");
    }

    @Test
    void theTokenLadder() {
        assertEquals(16, ShapeBuckets.nextTokens(1));
        assertEquals(32, ShapeBuckets.nextTokens(17));
        assertEquals(512, ShapeBuckets.nextTokens(257));
        assertEquals(768, ShapeBuckets.nextTokens(513));
        assertEquals(2560, ShapeBuckets.nextTokens(2560));
    }

    private static List<Tokens> rows(int length, int n) {
        List<Tokens> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(row(length));
        }
        return out;
    }

    private static List<Tokens> rows(int length) {
        return rows(length, 1);
    }

    private static Tokens row(int length) {
        return new Tokens(new long[length], new long[length], false);
    }
}
