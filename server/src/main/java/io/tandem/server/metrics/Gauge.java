package io.tandem.server.metrics;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/**
 * A value that goes up and down. It is either set directly or read from a supplier at render
 * time; the supplier form suits values another component already tracks (queue length, GPU
 * memory), so nothing has to be pushed on the hot path.
 */
public final class Gauge {
    // Double bits in an AtomicLong: lock-free set and add without a DoubleAdder's sum-only API.
    private final AtomicLong bits = new AtomicLong(Double.doubleToRawLongBits(0.0));
    private volatile DoubleSupplier supplier;

    Gauge() {}

    /** Sets the value and stops reading any supplier. */
    public void set(double v) {
        supplier = null;
        bits.set(Double.doubleToRawLongBits(v));
    }

    public void add(double delta) {
        bits.getAndUpdate(b -> Double.doubleToRawLongBits(Double.longBitsToDouble(b) + delta));
    }

    public void inc() {
        add(1);
    }

    public void dec() {
        add(-1);
    }

    /** From now on the value is whatever the supplier returns when read; null goes back to the set value. */
    public void track(DoubleSupplier s) {
        supplier = s;
    }

    public double get() {
        DoubleSupplier s = supplier;
        if (s == null) {
            return Double.longBitsToDouble(bits.get());
        }
        try {
            return s.getAsDouble();
        } catch (RuntimeException e) {
            // A broken supplier must not take the whole /metrics page down with it.
            return Double.NaN;
        }
    }
}
