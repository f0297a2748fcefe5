package io.tandem.models.infer;

import io.tandem.models.tokenize.Tokens;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The token budget counts what the GPU computes: rows × longest for padded graphs, the real
 * tokens for packed ones. One long and two short inputs under a budget of 100 tokens.
 */
class BatchBudgetTest {

    @Test
    void paddedBatchesCountRowsTimesLongest() throws Exception {
        // 80 + 10 + 10 padded = 3 × 80 = 240 > 100: the short ones go together (2 × 10), apart from the long one.
        assertEquals(List.of(List.of(1), List.of(80), List.of(10, 10)), batchSizes(false));
    }

    @Test
    void packedBatchesCountRealTokens() throws Exception {
        // 80 + 10 + 10 = 100 real tokens: one batch after the blocker.
        assertEquals(List.of(List.of(1), List.of(80, 10, 10)), batchSizes(true));
    }

    @Test
    void packedBatchesStillBoundRowsTimesLongest() throws Exception {
        // 90 + eight 1s = 98 real tokens would fit, but 9 rows × 90 > 8 budgets (Budget.PACKED_SPAN).
        List<List<Integer>> seen = batchSizes(true, 90, 1, 1, 1, 1, 1, 1, 1, 1);
        assertEquals(List.of(1), seen.get(0));
        assertEquals(List.of(90, 1, 1, 1, 1, 1, 1, 1), seen.get(1));
        assertEquals(List.of(1), seen.get(2));
    }

    private static List<List<Integer>> batchSizes(boolean packed) throws Exception {
        return batchSizes(packed, 80, 10, 10);
    }

    /** The lengths of each batch the runner saw, with the runner held on a first one-token input. */
    private static List<List<Integer>> batchSizes(boolean packed, int... lengths) throws Exception {
        List<List<Integer>> seen = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch hold = new CountDownLatch(1);
        BatchRunner<Void, Integer> runner = batch -> {
            seen.add(batch.stream().map(q -> q.tokens().length()).toList());
            return () -> {
                started.countDown();
                try {
                    if (!hold.await(10, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("not released");
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return batch.stream().map(q -> q.tokens().length()).toList();
            };
        };
        try (BatchQueue<Void, Integer> queue = new BatchQueue<>("q", runner,
                new BatchQueue.Budget(100, Integer.MAX_VALUE, packed), new BatchQueue.Listener() {
                })) {
            List<CompletableFuture<ItemResult<Integer>>> all = new ArrayList<>();
            all.add(queue.submit(tokens(1), null));
            assertTrue(started.await(10, TimeUnit.SECONDS));
            for (int length : lengths) {
                all.add(queue.submit(tokens(length), null));
            }
            hold.countDown();
            for (CompletableFuture<ItemResult<Integer>> f : all) {
                f.get(10, TimeUnit.SECONDS);
            }
        }
        return seen;
    }

    private static Tokens tokens(int length) {
        return new Tokens(new long[length], new long[length], false);
    }
}
