package io.tandem.models.infer;

import io.tandem.models.Fixtures;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.ModelOutput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The core's admission, deadlines and cancellation on the tiny bge-m3 fixture, with a gate in
 * front of the model that holds batches until the test lets them go.
 */
class AdmissionTest {

    /** Lets the model's batches through one permit at a time; counts the batches that really ran. */
    private final Semaphore gate = new Semaphore(0);
    private final AtomicInteger ran = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();
    private final AtomicBoolean outOfMemory = new AtomicBoolean();
    private final List<List<Integer>> batches = Collections.synchronizedList(new ArrayList<>());
    private Inference inference;

    private Inference start(int permits, Duration timeout, long maxResponseBytes) {
        InferenceListener listener = new InferenceListener() {
            @Override
            public void batchFormed(List<Integer> rowLengths) {
                batches.add(rowLengths);
            }

            @Override
            public void inputDropped() {
                dropped.incrementAndGet();
            }
        };
        inference = Inference.builder(Fixtures.load("m3-tiny", null))
                .settings(new InferenceSettings(permits, 16384, Integer.MAX_VALUE, 32, true, null, null, timeout,
                        maxResponseBytes))
                .listener(listener)
                .runners(1) // one batch at a time: a held batch makes the model busy
                .wrapRunner(real -> batch -> {
                    BatchRunner.Prepared<ModelOutput> prepared = real.prepare(batch);
                    return () -> {
                        gate.acquireUninterruptibly();
                        if (outOfMemory.get()) {
                            prepared.discard();
                            throw new OutOfMemoryError("Java heap space");
                        }
                        ran.incrementAndGet();
                        return prepared.run();
                    };
                }).start();
        return inference;
    }

    @AfterEach
    void stop() {
        gate.release(1000);
        if (inference != null) {
            inference.close();
        }
    }

    private static Request.Embed embed(boolean batch, String... texts) {
        return new Request.Embed(new Request.Inputs(List.of(texts).stream().map(Request.Input::text).toList(), batch),
                Request.Truncate.DEFAULT, null, EmbedOutput.DENSE, true, null);
    }

    private static CompletableFuture<List<Embedding>> async(Inference inference, Request.Embed r) {
        return CompletableFuture.supplyAsync(() -> inference.embed(r).value(),
                command -> Thread.ofVirtual().start(command));
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting");
            Thread.sleep(5);
        }
    }

    @Test
    void aSingleInputIsRefusedAtOnceWhileABatchWaitsForItsPermits() throws Exception {
        Inference m = start(2, null, Long.MAX_VALUE);
        // Two inputs hold both permits (their batch is held at the gate).
        CompletableFuture<List<Embedding>> first = async(m, embed(true, "one", "two"));
        waitFor(() -> batches.size() == 1);
        InferenceError refused = assertThrows(InferenceError.class, () -> m.embed(embed(false, "single")));
        assertEquals(InferenceError.Kind.OVERLOADED, refused.kind());
        assertEquals("Model is overloaded", refused.getMessage());
        // A batch of five (more than the permits) waits, then runs in waves as permits come back.
        CompletableFuture<List<Embedding>> second = async(m, embed(true, "a", "b", "c", "d", "e"));
        Thread.sleep(100);
        assertFalse(second.isDone());
        assertEquals(1, batches.size(), "nothing of the waiting batch was queued without a permit");
        gate.release(1000);
        assertEquals(2, first.get(10, TimeUnit.SECONDS).size());
        List<Embedding> five = second.get(10, TimeUnit.SECONDS);
        assertEquals(5, five.size());
        // Waves never exceed the permits, and the numbers are those of the inputs run alone.
        batches.forEach(b -> assertTrue(b.size() <= 2, "a batch larger than the permits: " + batches));
        // (a batch of one: it waits for the permit the last wave gives back as it completes)
        assertArrayEquals(m.embed(embed(true, "c")).value().getFirst().dense(), five.get(2).dense());
    }

    /** A batch of one input held at the gate: the model is busy, later inputs wait in the queue. */
    private CompletableFuture<List<Embedding>> busy(Inference m) throws InterruptedException {
        CompletableFuture<List<Embedding>> blocker = async(m, embed(true, "blocker"));
        waitFor(() -> batches.size() == 1);
        return blocker;
    }

    @Test
    void aRequestPastItsDeadlineIsAnswered504AndItsQueuedInputsNeverRun() throws Exception {
        Inference m = start(64, Duration.ofMillis(300), Long.MAX_VALUE);
        busy(m);
        long start = System.nanoTime();
        InferenceError e = assertThrows(InferenceError.class, () -> m.embed(embed(true, "x", "y", "z")));
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(InferenceError.Kind.TIMEOUT, e.kind());
        assertEquals("Request timed out: not served within 0.3 s (--request-timeout)", e.getMessage());
        assertTrue(waited >= 290 && waited < 5000, "waited " + waited + " ms");
        gate.release(1000);
        // The model frees up: the expired request's inputs are dropped from the queue, never computed.
        waitFor(() -> dropped.get() == 3);
        assertEquals(1, ran.get(), "only the blocker's batch ran");
        assertEquals(3, m.embed(embed(true, "u", "v", "w")).value().size(), "permits came back");
    }

    @Test
    void aCallerThatGoesAwayDropsItsInputs() throws Exception {
        Inference m = start(64, null, Long.MAX_VALUE);
        busy(m);
        CountDownLatch failed = new CountDownLatch(1);
        List<InferenceError> seen = Collections.synchronizedList(new ArrayList<>());
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                m.embed(embed(true, "p", "q"));
            } catch (InferenceError e) {
                seen.add(e);
            } finally {
                failed.countDown();
            }
        });
        Thread.sleep(100); // its inputs are in the queue behind the blocker
        caller.interrupt(); // what a front door does when its client hangs up
        assertTrue(failed.await(10, TimeUnit.SECONDS));
        assertEquals(InferenceError.Kind.CANCELLED, seen.getFirst().kind());
        gate.release(1000);
        waitFor(() -> dropped.get() == 2);
        assertEquals(1, ran.get(), "only the blocker's batch ran");
    }

    @Test
    void tokenizerRoutesTakePermitsToo() throws Exception {
        Inference m = start(1, null, Long.MAX_VALUE);
        CompletableFuture<List<Embedding>> blocker = busy(m); // the one permit is held by the blocker's input
        InferenceError tokenize = assertThrows(InferenceError.class,
                () -> m.tokenize(new Request.Tokenize(List.of("a"), false, true, null)));
        assertEquals(InferenceError.Kind.OVERLOADED, tokenize.kind());
        InferenceError decode = assertThrows(InferenceError.class,
                () -> m.decode(new Request.Decode(List.of(new long[] {0, 5, 2}), true)));
        assertEquals(InferenceError.Kind.OVERLOADED, decode.kind());
        gate.release(1000);
        blocker.get(10, TimeUnit.SECONDS);
        // The permit comes back as the blocker's input completes (a callback of its future).
        waitFor(() -> {
            try {
                return m.tokenize(new Request.Tokenize(List.of("a"), false, true, null)).size() == 1;
            } catch (InferenceError e) {
                return false;
            }
        });
    }

    @Test
    void anAnswerOverTheLimitIsRefusedBeforeAnyBatch() {
        // 2 inputs × 32 dimensions × 12 bytes = 768 bytes of JSON: over a 700-byte limit.
        Inference m = start(64, null, 700);
        InferenceError e = assertThrows(InferenceError.class, () -> m.embed(embed(true, "a", "b")));
        assertEquals(InferenceError.Kind.TOO_LARGE, e.kind());
        assertTrue(e.getMessage().contains("--max-response-bytes"), e.getMessage());
        assertEquals(List.of(), batches);
        gate.release(1000);
        assertEquals(1, m.embed(embed(false, "a")).value().size(), "one input (384 bytes) fits");
    }

    @Test
    void outOfMemoryIsAnswered503AndHealthStaysTruthful() {
        Inference m = start(64, null, Long.MAX_VALUE);
        outOfMemory.set(true);
        gate.release(1000);
        InferenceError e = assertThrows(InferenceError.class, () -> m.embed(embed(false, "a")));
        assertEquals(InferenceError.Kind.OUT_OF_MEMORY, e.kind());
        assertFalse(m.healthy(), "the probe batch fails while memory is short");
        outOfMemory.set(false);
        assertTrue(m.healthy(), "the probe batch runs once memory is back");
        assertEquals(1, m.embed(embed(false, "a")).value().size());
    }
}
