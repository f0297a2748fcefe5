package io.tandem.server.metrics;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.DoubleSupplier;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Counters, gauges and histograms rendered in the Prometheus text format 0.0.4.
 *
 * <p>Registration takes a lock and is meant for start-up; callers keep the returned metric and
 * update it lock-free. Registering the same name and labels again returns the same metric, so
 * two components may share a series without coordinating.
 *
 * <p>Labels are passed as alternating name/value strings and rendered in that order. Names are
 * written exactly as registered: no {@code _total} is appended to counters, because TEI's
 * counters ({@code te_request_count} ...) have none and dashboards query those names.
 */
public final class MetricsRegistry {
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private enum Type {
        COUNTER, GAUGE, HISTOGRAM;

        String text() {
            return name().toLowerCase();
        }
    }

    private static final class Family {
        final String name;
        final String help;
        final Type type;
        final Map<SequencedMap<String, String>, Object> series = new LinkedHashMap<>();

        Family(String name, String help, Type type) {
            this.name = name;
            this.help = help;
            this.type = type;
        }
    }

    private record Series(SequencedMap<String, String> labels, Object metric) {}

    private record Snapshot(Family family, List<Series> series) {}

    private final Map<String, Family> families = new LinkedHashMap<>();

    public Counter counter(String name, String help, String... labels) {
        return (Counter) register(name, help, Type.COUNTER, labels, null);
    }

    public Gauge gauge(String name, String help, String... labels) {
        return (Gauge) register(name, help, Type.GAUGE, labels, null);
    }

    /** A gauge read from {@code supplier} at render time. */
    public Gauge gauge(String name, String help, DoubleSupplier supplier, String... labels) {
        Gauge g = gauge(name, help, labels);
        g.track(supplier);
        return g;
    }

    /** {@code bounds} are the finite upper bounds; the {@code +Inf} bucket is added at render. */
    public Histogram histogram(String name, String help, double[] bounds, String... labels) {
        return (Histogram) register(name, help, Type.HISTOGRAM, labels, bounds);
    }

    private synchronized Object register(String name, String help, Type type, String[] labels, double[] bounds) {
        if (!METRIC_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid metric name '" + name + "'");
        }
        SequencedMap<String, String> key = labelMap(labels, type == Type.HISTOGRAM);
        Family f = families.computeIfAbsent(name, n -> new Family(n, help == null ? "" : help, type));
        if (f.type != type) {
            throw new IllegalArgumentException(name + " is already registered as a " + f.type.text());
        }
        Object existing = f.series.get(key);
        if (existing != null) {
            if (existing instanceof Histogram h && !Arrays.equals(h.bounds(), bounds)) {
                throw new IllegalArgumentException(name + key + " is already registered with other buckets");
            }
            return existing;
        }
        Object m = switch (type) {
            case COUNTER -> new Counter();
            case GAUGE -> new Gauge();
            case HISTOGRAM -> new Histogram(bounds);
        };
        f.series.put(key, m);
        return m;
    }

    private static SequencedMap<String, String> labelMap(String[] labels, boolean histogram) {
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels must be name/value pairs, got " + labels.length + " strings");
        }
        LinkedHashMap<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            String n = labels[i];
            String v = labels[i + 1];
            if (n == null || !LABEL_NAME.matcher(n).matches() || n.startsWith("__")) {
                throw new IllegalArgumentException("invalid label name '" + n + "'");
            }
            if (histogram && n.equals("le")) {
                throw new IllegalArgumentException("'le' is reserved for histogram buckets");
            }
            if (v == null) {
                throw new IllegalArgumentException("label " + n + " has no value");
            }
            if (m.put(n, v) != null) {
                throw new IllegalArgumentException("label " + n + " given twice");
            }
        }
        return Collections.unmodifiableSequencedMap(m);
    }

    /** A filter for {@link #render(Predicate)}: series whose label {@code name} equals {@code value}. */
    public static Predicate<Map<String, String>> labelEquals(String name, String value) {
        return labels -> value.equals(labels.get(name));
    }

    public String render() {
        return render(labels -> true);
    }

    /**
     * Renders only the series whose labels match; a name with no matching series is left out
     * entirely, HELP and TYPE included.
     */
    public String render(Predicate<Map<String, String>> filter) {
        List<Snapshot> snap = new ArrayList<>();
        // Copy under the lock, read values outside it: supplier gauges may be slow or reentrant.
        synchronized (this) {
            for (Family f : families.values()) {
                List<Series> s = new ArrayList<>();
                f.series.forEach((labels, metric) -> {
                    if (filter.test(labels)) {
                        s.add(new Series(labels, metric));
                    }
                });
                if (!s.isEmpty()) {
                    snap.add(new Snapshot(f, s));
                }
            }
        }
        StringBuilder out = new StringBuilder(4096);
        for (Snapshot sn : snap) {
            Family f = sn.family();
            out.append("# HELP ").append(f.name).append(' ').append(escapeHelp(f.help)).append('\n');
            out.append("# TYPE ").append(f.name).append(' ').append(f.type.text()).append('\n');
            for (Series s : sn.series()) {
                switch (s.metric()) {
                    case Counter c -> line(out, f.name, "", s.labels(), null, Long.toString(c.get()));
                    case Gauge g -> line(out, f.name, "", s.labels(), null, formatDouble(g.get()));
                    case Histogram h -> renderHistogram(out, f.name, s.labels(), h);
                    default -> throw new IllegalStateException();
                }
            }
        }
        return out.toString();
    }

    private static void renderHistogram(StringBuilder out, String name, Map<String, String> labels, Histogram h) {
        double[] bounds = h.bounds();
        long[] cumulative = h.cumulativeCounts();
        for (int i = 0; i < bounds.length; i++) {
            line(out, name, "_bucket", labels, formatDouble(bounds[i]), Long.toString(cumulative[i]));
        }
        long total = cumulative[bounds.length];
        line(out, name, "_bucket", labels, "+Inf", Long.toString(total));
        line(out, name, "_sum", labels, null, formatDouble(h.sum()));
        // _count from the same read as +Inf, so the two always agree even under concurrent updates.
        line(out, name, "_count", labels, null, Long.toString(total));
    }

    private static void line(StringBuilder out, String name, String suffix, Map<String, String> labels, String le, String value) {
        out.append(name).append(suffix);
        if (!labels.isEmpty() || le != null) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, String> e : labels.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append(e.getKey()).append("=\"");
                escapeLabelValue(out, e.getValue());
                out.append('"');
            }
            if (le != null) {
                if (!first) {
                    out.append(',');
                }
                out.append("le=\"").append(le).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(value).append('\n');
    }

    static void escapeLabelValue(StringBuilder out, String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }

    private static String escapeHelp(String help) {
        return help.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /**
     * Java's shortest round-trip digits, written without an exponent and without a trailing
     * ".0" (1.5E-5 gives 0.000015, 4096.0 gives 4096). This is how TEI's exporter (Rust's f64
     * Display) writes values and {@code le} bounds, so bucket label strings match TEI's exactly.
     */
    static String formatDouble(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
    }
}
