package io.tandem.server.hardening;

import io.tandem.models.ModelOptions;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.Request;
import io.tandem.models.infer.Tokenization;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Model;
import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Work stays bounded by the permits: when a request fails (and gives its permits back), its
 * other inputs still waiting for a tokenizer are not tokenized, and none of its inputs reach
 * the model's queue.
 */
class AbandonedWorkTest {

    @Test
    void inputsOfAFailedRequestAreNotTokenizedAfterward() throws Exception {
        CountDownLatch requestFailed = new CountDownLatch(1);
        AtomicInteger tokenizedAfterFailure = new AtomicInteger();
        List<Supplier<Tokens>> tasks = new ArrayList<>();
        tasks.add(() -> {
            throw InferenceError.emptyInput();
        });
        // Already running when the request fails: it finishes, but its result is dropped.
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
        try (Tokenization tokenization = new Tokenization(1)) {
            assertThrows(InferenceError.class, () -> tokenization.all(tasks));
            requestFailed.countDown();
            // The pool is FIFO with one worker: once this runs, every task above has had its turn.
            assertEquals("done", tokenization.one(() -> "done"));
        }
        assertEquals(0, tokenizedAfterFailure.get(), "inputs of the failed request were tokenized anyway");
    }

    @Test
    void aRequestWithABadInputQueuesNothing() {
        AtomicInteger batches = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        InferenceListener listener = new InferenceListener() {
            @Override
            public void batchFormed(List<Integer> rowLengths) {
                batches.incrementAndGet();
            }

            @Override
            public void requestFailed(InferenceError.Kind kind) {
                assertEquals(InferenceError.Kind.EMPTY, kind);
                failures.incrementAndGet();
            }
        };
        Model model = Model.load("m3-tiny", Hardening.M3_TINY, new ModelOptions(DeviceChoice.CPU, null, null, 0));
        try (Inference inference = Inference.builder(model).listener(listener).start()) {
            List<Request.Input> inputs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                inputs.add(Request.Input.text(i == 10 ? "" : "input " + i));
            }
            InferenceError e = assertThrows(InferenceError.class, () -> inference.embed(new Request.Embed(
                    new Request.Inputs(inputs, true), Request.Truncate.DEFAULT, null, EmbedOutput.DENSE, true, null)));
            assertEquals("Input validation error: `inputs` cannot be empty", e.getMessage());
            assertEquals(1, failures.get());
            assertEquals(0, batches.get(), "inputs of the failed request reached the model's queue");
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
