package io.tandem.models.pipeline;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * When a GPU arena gives its unused memory back: once a batch costing more than the threshold
 * has run, after the first batch that finds no more work waiting, whatever that batch's own size.
 * So the memory a burst leaves behind is the same in every run (issue 15: deciding on the last
 * batch's own size kept 3.4 GiB in one run and none in another). Under steady load the memory
 * is kept: freeing and re-allocating hundreds of MiB around every full batch would cost more
 * than the batch (cudaFree synchronises the device).
 */
final class ArenaShrink {

    private volatile long above = Long.MAX_VALUE;
    private volatile BooleanSupplier idle = () -> true;
    /** The costliest batch run since the arena last shrank. */
    private final AtomicLong largest = new AtomicLong();

    void set(long tokens, BooleanSupplier idleAfterBatch) {
        this.above = tokens;
        this.idle = idleAfterBatch;
    }

    /** Whether the batch about to run, of this cost, should shrink the arena once it has run. */
    boolean afterBatch(long cost) {
        if (largest.accumulateAndGet(cost, Math::max) <= above || !idle.getAsBoolean()) {
            return false;
        }
        largest.set(0);
        return true;
    }
}
