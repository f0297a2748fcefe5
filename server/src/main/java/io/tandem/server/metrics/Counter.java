package io.tandem.server.metrics;

import java.util.concurrent.atomic.LongAdder;

/** A monotonically increasing count. Updates never take a lock. */
public final class Counter {
    private final LongAdder value = new LongAdder();

    Counter() {}

    public void inc() {
        value.increment();
    }

    public void inc(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("a counter cannot go down, got " + n);
        }
        value.add(n);
    }

    public long get() {
        return value.sum();
    }
}
