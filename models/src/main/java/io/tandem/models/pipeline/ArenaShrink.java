package io.tandem.models.pipeline;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * When a GPU arena gives its unused memory back: once the model has been idle for
 * {@link #IDLE_MS} after a batch over the threshold ran since the last shrink. Never during a
 * load: freeing and re-allocating hundreds of MiB around batches costs more than the batches
 * (cudaFree synchronises the device), and shrinking whenever a large batch found the queue empty
 * shrank 5-7 times in 7 s of /rerank load with short gaps on the H200. Nor after small batches
 * alone, so that queries at a low rate do not re-allocate each time. And after every burst with a
 * large batch, whatever came after it: deciding on the last batch left 3.4 GiB after a burst in
 * one run and none in the next (issue 15).
 */
final class ArenaShrink implements AutoCloseable {

    static final long IDLE_MS = 200;
    /** One daemon thread for the idle checks of every model of the process. */
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private volatile long above = Long.MAX_VALUE;
    private volatile BooleanSupplier idle = () -> true;
    /** A batch over the threshold ran since the arena last shrank. */
    private final AtomicBoolean owed = new AtomicBoolean();
    /** Batches started, so an idle check knows whether anything ran since it was planned. */
    private final AtomicLong batches = new AtomicLong();
    private volatile Runnable shrinkNow;

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().name("arena-shrink").daemon(true).unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    /**
     * @param shrinkNow runs a small batch whose run gives the memory back (ORT shrinks only at
     *                  the end of a run); null leaves the idle shrink out (the CPU has no arena
     *                  to give back)
     */
    void set(long tokens, BooleanSupplier idleAfterBatch, Runnable shrinkNow) {
        this.above = tokens;
        this.idle = idleAfterBatch;
        this.shrinkNow = shrinkNow;
    }

    /** A batch of this cost is about to run: a large one owes an idle shrink. */
    void batchStarting(long cost) {
        batches.incrementAndGet();
        if (cost > above) {
            owed.set(true);
        }
    }

    /** After a batch has run: if memory is owed and nothing follows, plan the idle shrink. */
    void batchDone() {
        Runnable shrink = shrinkNow;
        if (shrink == null || !owed.get() || !idle.getAsBoolean()) {
            return;
        }
        long seen = batches.get();
        TIMER.schedule(() -> {
            // Nothing ran since, nothing waits, the model is open, and no other check got there first.
            Runnable now = shrinkNow;
            if (now != null && batches.get() == seen && idle.getAsBoolean() && owed.compareAndSet(true, false)) {
                now.run();
            }
        }, IDLE_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        shrinkNow = null;
    }
}
