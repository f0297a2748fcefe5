package io.tandem.server.hardening;

import io.tandem.models.tokenize.Tokens;
import io.tandem.server.core.InferenceRunner;
import io.tandem.server.core.ItemResult;
import io.tandem.server.http.TeiError;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Queues are bounded by permits: when a request fails (and gives its permits back), its other
 * inputs still waiting for a tokenizer are not tokenized and never reach the model's queue.
 */
class AbandonedWorkTest {

    @Test
    void inputsOfAFailedRequestAreNotTokenizedAfterward() throws Exception {
        CountDownLatch requestFailed = new CountDownLatch(1);
        AtomicInteger tokenizedAfterFailure = new AtomicInteger();
        AtomicInteger enqueued = new AtomicInteger();
        List<Supplier<Tokens>> tasks = new ArrayList<>();
        tasks.add(() -> {
            throw TeiError.emptyInput();
        });
        // Already running when the request fails: it finishes, but is not queued.
        tasks.add(() -> {
            await(requestFailed);
            return new Tokens(new long[] {0, 2}, new long[2], false);
        });
        for (int i = 0; i < 50; i++) {
            tasks.add(() -> {
                tokenizedAfterFailure.incrementAndGet();
                return new Tokens(new long[] {0, 2}, new long[2], false);
            });
        }
        try (InferenceRunner runner = new InferenceRunner(1)) {
            assertThrows(TeiError.class, () -> runner.run(tasks, tokens -> {
                enqueued.incrementAndGet();
                return CompletableFuture.completedFuture(new ItemResult<>("x", 0, 0));
            }));
            requestFailed.countDown();
            // The pool is FIFO with one worker: once this runs, every task above has had its turn.
            assertEquals("done", runner.tokenizeOnly(() -> "done"));
        }
        assertEquals(0, tokenizedAfterFailure.get(), "inputs of the failed request were tokenized anyway");
        assertEquals(0, enqueued.get(), "inputs of the failed request reached the model's queue");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
