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
        ShapeBuckets m3 = new ShapeBuckets(8192);
        // /embed of one 16-token query: 63 filler rows need 63 tokens.
        assertEquals(new ShapeBuckets.Bucket(128, 64, 128), m3.bucketOf(rows(16, 1)));
        ShapeBuckets reranker = new ShapeBuckets(512);
        // /rerank of 20 pairs of 128 tokens: 2,560 tokens and 44 filler rows.
        assertEquals(new ShapeBuckets.Bucket(2816, 64, 512), reranker.bucketOf(rows(128, 20)));
    }

    @Test
    void batchesThatFitNoBucketRunAsTheyAre() {
        ShapeBuckets buckets = new ShapeBuckets(8192);
        assertNull(buckets.bucketOf(rows(512, 9)), "4,608 tokens");
        assertNull(buckets.bucketOf(rows(15, 65)), "more rows than a bucket has");
        assertEquals(new ShapeBuckets.Bucket(1024, 64, 1024), buckets.bucketOf(rows(16, 64)), "64 rows, no filler");
        assertNull(buckets.bucketOf(rows(15, 64)), "64 rows leave no row for the leftover tokens");
        assertEquals(new ShapeBuckets.Bucket(4096, 64, 512), new ShapeBuckets(512).bucketOf(rows(63, 63)),
                "3,969 tokens: 127 left over, one filler row");
    }

    @Test
    void everyBucketHoldsItsRowsAndFillerRowsTheModelCanRun() {
        Random random = new Random(11);
        for (int longestRow : new int[] {512, 8192}) {
            ShapeBuckets buckets = new ShapeBuckets(longestRow);
            for (int i = 0; i < 1_500; i++) {
                int n = 1 + random.nextInt(64);
                List<Tokens> batch = new ArrayList<>();
                int total = 0;
                for (int r = 0; r < n; r++) {
                    int length = 1 + random.nextInt(random.nextBoolean() ? 32 : longestRow);
                    batch.add(row(length));
                    total += length;
                }
                ShapeBuckets.Bucket b = buckets.bucketOf(batch);
                if (b == null) {
                    assertTrue(total + (ShapeBuckets.ROWS - n) > ShapeBuckets.MAX_TOKENS - 256 || n == ShapeBuckets.ROWS,
                            "only batches near the token cap or with every row taken are left out: " + n + " rows, " + total);
                    continue;
                }
                assertTrue(buckets.sizes().contains(b), b + " is one of the buckets captured at load");
                assertTrue(b.tokens() >= total && b.tokens() <= ShapeBuckets.MAX_TOKENS);
                assertEquals(ShapeBuckets.ROWS, b.rows());
                assertTrue(batch.stream().allMatch(r -> r.length() <= b.seq()) && b.seq() <= longestRow);
                int[] filler = ShapeBuckets.fillerLengths(b.tokens() - total, b.rows() - n);
                int sum = 0;
                for (int length : filler) {
                    assertTrue(length >= 1 && length <= b.seq(), b + ": filler row of " + length);
                    sum += length;
                }
                assertEquals(b.tokens() - total, sum, b.toString());
                assertTrue(b.tokens() - total < Math.max(b.tokens() / 2, 256) + ShapeBuckets.ROWS,
                        "filler stays a small share: " + b + " for " + total);
            }
        }
    }

    @Test
    void seventeenBucketsNamedBySize() {
        List<ShapeBuckets.Bucket> sizes = new ShapeBuckets(512).sizes();
        assertEquals(17, sizes.size(), "128, 256, then 512 to 4,096 by 256");
        assertEquals(new ShapeBuckets.Bucket(128, 64, 128), sizes.getFirst());
        assertEquals(new ShapeBuckets.Bucket(4096, 64, 512), sizes.getLast());
        for (int i = 0; i < sizes.size(); i++) {
            assertEquals(i + 1, ShapeBuckets.idOf(sizes.get(i)));
        }
    }

    @Test
    void theTokenLadder() {
        assertEquals(128, ShapeBuckets.nextTokens(1));
        assertEquals(256, ShapeBuckets.nextTokens(129));
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

    private static Tokens row(int length) {
        return new Tokens(new long[length], new long[length], false);
    }
}
