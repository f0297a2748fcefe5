package io.tandem.models.infer;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A model's admission, as TEI's: one permit per input in flight. A single input takes its
 * permit at once or is refused (429); a batch's inputs wait for theirs in arrival order, a few
 * at a time, so a batch larger than the permits still runs, in waves. Every wait ends at the
 * request's deadline. A permit comes back when its request has taken the input's result.
 */
final class Admission {

    private final Semaphore permits;
    private final Duration timeout;

    /** @param timeout how long a request may take in all; null for no limit */
    Admission(int permits, Duration timeout) {
        // Fair: waiting batches are served in arrival order, and try-acquires do not jump the line.
        this.permits = new Semaphore(permits, true);
        this.timeout = timeout;
    }

    /** When a request that starts now must be done, in System.nanoTime() terms. */
    long deadline(long startNanos) {
        return timeout == null ? Long.MAX_VALUE : startNanos + timeout.toNanos();
    }

    /** Nanoseconds left until the deadline; a passed deadline is a timeout. */
    long remaining(long deadline) {
        if (deadline == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw InferenceError.timeout(timeout);
        }
        return left;
    }

    /** A single input's permit, now or never. */
    void acquireNow() {
        try {
            if (!permits.tryAcquire(0, TimeUnit.NANOSECONDS)) {
                throw InferenceError.overloaded();
            }
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    /** Waits (up to the deadline) for one permit, then takes as many more as are free, up to {@code max}. */
    int acquireUpTo(int max, long deadline) {
        try {
            if (!permits.tryAcquire(1, remaining(deadline), TimeUnit.NANOSECONDS)) {
                throw InferenceError.timeout(timeout);
            }
            return 1 + tryAcquireUpTo(max - 1);
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    /** As many permits as are free now, up to {@code max}, without waiting (and behind anyone waiting); maybe 0. */
    int tryAcquireUpTo(int max) {
        try {
            int taken = 0;
            while (taken < max && permits.tryAcquire(0, TimeUnit.NANOSECONDS)) {
                taken++;
            }
            return taken;
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    void release(int n) {
        permits.release(n);
    }

    /** The caller's thread was interrupted: its client is gone (or the server stops). */
    static CancellationException interrupted() {
        Thread.currentThread().interrupt();
        return new CancellationException("request cancelled");
    }
}
