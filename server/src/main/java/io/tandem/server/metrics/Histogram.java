package io.tandem.server.metrics;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/** Counts observations into fixed buckets (upper bounds, inclusive, as Prometheus's {@code le}). */
public final class Histogram {
    private final double[] bounds;
    // One slot per bound plus an overflow slot; cumulated only at render time so that an
    // observation touches a single adder.
    private final LongAdder[] slots;
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
        this.bounds = bounds.clone();
        for (int i = 0; i < this.bounds.length; i++) {
            if (!Double.isFinite(this.bounds[i])) {
                throw new IllegalArgumentException("bucket bounds must be finite (+Inf is implicit)");
            }
            if (i > 0 && this.bounds[i] <= this.bounds[i - 1]) {
                throw new IllegalArgumentException("bucket bounds must be strictly increasing");
            }
        }
        slots = new LongAdder[this.bounds.length + 1];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new LongAdder();
        }
    }

    public void observe(double v) {
        int i = Arrays.binarySearch(bounds, v);
        if (i < 0) {
            i = -i - 1; // first bound above v; bounds.length means +Inf only
        }
        slots[i].increment();
        sum.add(v);
    }

    /** Records a duration in seconds, the unit every TEI duration histogram uses. */
    public void observe(Duration d) {
        observe(d.toNanos() / 1e9);
    }

    double[] bounds() {
        return bounds.clone();
    }

    /** Cumulative counts per bound, then the +Inf count (which is also the total). */
    long[] cumulativeCounts() {
        long[] out = new long[slots.length];
        long running = 0;
        for (int i = 0; i < slots.length; i++) {
            running += slots[i].sum();
            out[i] = running;
        }
        return out;
    }

    double sum() {
        return sum.sum();
    }

    public long count() {
        long n = 0;
        for (LongAdder s : slots) {
            n += s.sum();
        }
        return n;
    }
}
