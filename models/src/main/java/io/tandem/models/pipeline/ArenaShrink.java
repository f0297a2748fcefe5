package io.tandem.models.pipeline;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * When a GPU arena gives its unused memory back. Under steady load the memory is kept:
 * freeing and re-allocating hundreds of MiB around batches costs more than the batches
 * (cudaFree synchronises the device). Two moments give it back:
 * <ul>
 *   <li>a batch over the threshold that finds nothing else waiting, at the end of its run;</li>
 *   <li>the model idle for {@link #IDLE_MS} after any batch over the threshold ran since the
 *   last shrink: what a burst's smaller last batches would otherwise keep (issue 15: 3.4 GiB
 *   left after a burst in one run, none in the next). Shrinking at the first batch that found
 *   the queue empty instead shrank inside loads with short gaps and cost the reranker 11% of its
 *   pairs/s on the H200.</li>
 * </ul>
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

    /** Whether the batch about to run, of this cost, should shrink the arena once it has run. */
    boolean afterBatch(long cost) {
        batches.incrementAndGet();
        if (cost <= above) {
            return false;
        }
        if (idle.getAsBoolean()) {
            owed.set(false);
            return true;
        }
        owed.set(true);
        return false;
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
