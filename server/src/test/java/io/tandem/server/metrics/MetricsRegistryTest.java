package io.tandem.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

    @Test
    void rendersExactText() {
        MetricsRegistry reg = new MetricsRegistry();
        reg.counter("hits", "All hits").inc(3);
        Counter single = reg.counter("req", "Requests", "method", "single");
        reg.counter("req", "Requests", "method", "batch").inc();
        single.inc();
        single.inc();
        reg.gauge("queue", "Queue length").set(2.5);
        Histogram h = reg.histogram("lat", "Latency", new double[] {0.1, 1, 10}, "model", "m");
        h.observe(0.05);
        h.observe(1); // le is inclusive
        h.observe(100);

        String expected = """
                # HELP hits All hits
                # TYPE hits counter
                hits 3
                # HELP req Requests
                # TYPE req counter
                req{method="single"} 2
                req{method="batch"} 1
                # HELP queue Queue length
                # TYPE queue gauge
                queue 2.5
                # HELP lat Latency
                # TYPE lat histogram
                lat_bucket{model="m",le="0.1"} 1
                lat_bucket{model="m",le="1"} 2
                lat_bucket{model="m",le="10"} 2
                lat_bucket{model="m",le="+Inf"} 3
                lat_sum{model="m"} 101.05
                lat_count{model="m"} 3
                """;
        assertEquals(expected, reg.render());
    }

    @Test
    void numbersAreWrittenPlain() {
        assertEquals("0", MetricsRegistry.formatDouble(0.0));
        assertEquals("4096", MetricsRegistry.formatDouble(4096.0));
        assertEquals("0.000015", MetricsRegistry.formatDouble(1.5e-5));
        assertEquals("12345678901234567000", MetricsRegistry.formatDouble(1.2345678901234567e19));
        assertEquals("-0.25", MetricsRegistry.formatDouble(-0.25));
        assertEquals("+Inf", MetricsRegistry.formatDouble(Double.POSITIVE_INFINITY));
        assertEquals("NaN", MetricsRegistry.formatDouble(Double.NaN));
    }

    @Test
    void escapesLabelValuesAndHelp() {
        MetricsRegistry reg = new MetricsRegistry();
        reg.counter("c", "line one\nback\\slash \"quoted\"", "path", "a\\b\"c\nd").inc();
        assertEquals("""
                # HELP c line one\\nback\\\\slash "quoted"
                # TYPE c counter
                c{path="a\\\\b\\"c\\nd"} 1
                """, reg.render());
    }

    @Test
    void sameSeriesIsSharedAndConflictsAreRejected() {
        MetricsRegistry reg = new MetricsRegistry();
        Counter a = reg.counter("x", "", "k", "v", "j", "w");
        assertSame(a, reg.counter("x", "", "j", "w", "k", "v"));
        assertThrows(IllegalArgumentException.class, () -> reg.gauge("x", ""));
        assertThrows(IllegalArgumentException.class, () -> reg.counter("bad-name", ""));
        assertThrows(IllegalArgumentException.class, () -> reg.counter("y", "", "odd"));
        assertThrows(IllegalArgumentException.class, () -> reg.histogram("h", "", new double[] {1}, "le", "1"));
        assertThrows(IllegalArgumentException.class, () -> reg.histogram("h2", "", new double[] {2, 1}));
        reg.histogram("h3", "", new double[] {1, 2});
        assertThrows(IllegalArgumentException.class, () -> reg.histogram("h3", "", new double[] {1, 3}));
        assertThrows(IllegalArgumentException.class, () -> a.inc(-1));
    }

    @Test
    void supplierGaugeIsReadAtRenderTime() {
        MetricsRegistry reg = new MetricsRegistry();
        AtomicInteger v = new AtomicInteger(7);
        Gauge g = reg.gauge("g", "", v::get);
        assertEquals("# HELP g \n# TYPE g gauge\ng 7\n", reg.render());
        v.set(9);
        assertEquals(9.0, g.get());
        g.set(1);
        v.set(100);
        assertEquals(1.0, g.get());
        g.track(() -> { throw new IllegalStateException(); });
        assertEquals("# HELP g \n# TYPE g gauge\ng NaN\n", reg.render());
    }

    @Test
    void gaugeAddsAndHistogramTakesDurations() {
        MetricsRegistry reg = new MetricsRegistry();
        Gauge g = reg.gauge("g", "");
        g.inc();
        g.inc();
        g.dec();
        g.add(0.5);
        assertEquals(1.5, g.get());
        Histogram h = reg.histogram("h", "", new double[] {0.001, 1});
        h.observe(Duration.ofMillis(250));
        assertEquals(1, h.count());
        assertEquals("[0, 1, 1]", java.util.Arrays.toString(h.cumulativeCounts()));
        assertEquals(0.25, h.sum());
    }

    @Test
    void filterRendersOnlyMatchingSeries() {
        MetricsRegistry reg = new MetricsRegistry();
        reg.counter("c", "C", "model", "a").inc();
        reg.counter("c", "C", "model", "b").inc(2);
        reg.gauge("only_b", "B", "model", "b").set(1);
        reg.counter("unlabelled", "U").inc();
        assertEquals("""
                # HELP c C
                # TYPE c counter
                c{model="a"} 1
                """, reg.render(MetricsRegistry.labelEquals("model", "a")));
        assertEquals("""
                # HELP c C
                # TYPE c counter
                c{model="b"} 2
                # HELP only_b B
                # TYPE only_b gauge
                only_b{model="b"} 1
                """, reg.render(labels -> "b".equals(labels.get("model"))));
    }

    @Test
    void concurrentUpdatesAreAllCounted() throws Exception {
        MetricsRegistry reg = new MetricsRegistry();
        Counter c = reg.counter("c", "");
        Gauge g = reg.gauge("g", "");
        Histogram h = reg.histogram("h", "", new double[] {1, 2, 3});
        int threads = 16;
        int perThread = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                for (int i = 0; i < perThread; i++) {
                    c.inc();
                    g.inc();
                    h.observe(id % 4);
                    // Registering concurrently with updates and renders must be safe too.
                    if (i % 10_000 == 0) {
                        reg.counter("c", "");
                        reg.render();
                    }
                }
            }));
        }
        start.countDown();
        for (Thread t : ts) {
            t.join();
        }
        long total = (long) threads * perThread;
        assertEquals(total, c.get());
        assertEquals((double) total, g.get());
        assertEquals(total, h.count());
        String out = reg.render();
        assertEquals(true, out.contains("\nc " + total + "\n"), out);
        assertEquals(true, out.contains("h_bucket{le=\"+Inf\"} " + total + "\n"), out);
        assertEquals(true, out.contains("h_count " + total + "\n"), out);
    }
}
