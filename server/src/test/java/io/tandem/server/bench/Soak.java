package io.tandem.server.bench;

import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Soak: mixed /embed, /rerank and /tokenize load on an in-process server for N minutes, with
 * heap after a full GC, the process RSS, and per-route p50/p99 latency printed once a minute
 * and as a final table, so growth (a leak) or drift shows up. Not a test; run with
 * server/bench/soak.sh [minutes] [clients] [-- extra tandem flags].
 *
 * <p>Defaults: the built-in bge-small-zh-v1.5 as embedder and the tiny XLM-R reranker fixture
 * (the only reranker in the repository; pass --rerank-model for a real one), CPU, 4 clients.
 */
public final class Soak {

    private static final String[] ROUTES = {"embed", "rerank", "tokenize"};

    /** Latencies of one route in one minute. */
    private static final class Window {
        final long[][] nanos = new long[ROUTES.length][];
        final int[] counts = new int[ROUTES.length];
        long errors;

        Window() {
            for (int i = 0; i < ROUTES.length; i++) {
                nanos[i] = new long[1024];
            }
        }

        synchronized void add(int route, long n) {
            if (counts[route] == nanos[route].length) {
                nanos[route] = Arrays.copyOf(nanos[route], counts[route] * 2);
            }
            nanos[route][counts[route]++] = n;
        }

        synchronized double percentile(int route, double p) {
            if (counts[route] == 0) {
                return Double.NaN;
            }
            long[] sorted = Arrays.copyOf(nanos[route], counts[route]);
            Arrays.sort(sorted);
            int index = (int) Math.ceil(p * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(index, sorted.length - 1))] / 1e6;
        }

        synchronized int total() {
            int n = 0;
            for (int c : counts) {
                n += c;
            }
            return n;
        }
    }

    private record Row(int minute, int requests, long errors, double[] p50, double[] p99, double heapMib, double rssMib) {
    }

    public static void main(String[] args) throws Exception {
        double minutes = 10;
        int clients = 4;
        List<String> flags = new ArrayList<>();
        int i = 0;
        if (i < args.length && !args[i].startsWith("-")) {
            minutes = Double.parseDouble(args[i++]);
        }
        if (i < args.length && !args[i].startsWith("-")) {
            clients = Integer.parseInt(args[i++]);
        }
        if (i < args.length && args[i].equals("--")) {
            i++;
        }
        while (i < args.length) {
            flags.add(args[i++]);
        }
        List<String> all = new ArrayList<>(List.of("--device", "cpu", "--port", "0", "--hostname", "127.0.0.1"));
        if (!flags.contains("--rerank-model")) {
            Path fixture = Path.of("models/src/test/resources/fixtures/reranker-tiny");
            if (!Files.isDirectory(fixture)) {
                fixture = Path.of("../models/src/test/resources/fixtures/reranker-tiny");
            }
            all.addAll(List.of("--rerank-model", fixture.toAbsolutePath().normalize().toString()));
        }
        all.addAll(flags);
        try (Tandem tandem = Tandem.start(Flags.parse(all.toArray(String[]::new), Map.of()))) {
            run(tandem, minutes, clients);
        }
    }

    private static void run(Tandem tandem, double minutes, int clients) throws Exception {
        java.util.logging.Logger.getLogger("").addHandler(LOGGED);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String base = "http://127.0.0.1:" + tandem.port();
        String models = tandem.models().stream().map(m -> m.role() + "=" + m.name().substring(m.name().lastIndexOf('/') + 1))
                .reduce((a, b) -> a + ", " + b).orElse("");
        System.out.printf(Locale.ROOT, "soak: %.1f min, %d clients, CPU x%d, models: %s%n", minutes, clients,
                Runtime.getRuntime().availableProcessors(), models);
        // Warm up so that minute 1 is not the JIT's.
        for (int w = 0; w < 20; w++) {
            request(http, base, w % ROUTES.length, new Random(w));
        }
        List<Row> rows = new ArrayList<>();
        Row start = new Row(0, 0, 0, new double[3], new double[3], heapAfterGcMib(), rssMib());
        rows.add(start);
        System.out.println(header());
        System.out.println(format(start));

        AtomicBoolean stop = new AtomicBoolean();
        // What an orchestrator sees: /health once a second, its slowest answer and any non-200.
        AtomicLong healthWorstNanos = new AtomicLong();
        LongAdder healthNot200 = new LongAdder();
        Thread.ofVirtual().start(() -> {
            while (!stop.get()) {
                long t0 = System.nanoTime();
                try {
                    HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(base + "/health"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
                    if (r.statusCode() != 200) {
                        healthNot200.increment();
                    }
                } catch (IOException | InterruptedException e) {
                    healthNot200.increment();
                }
                healthWorstNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Window[] current = {new Window()};
        AtomicLong seq = new AtomicLong();
        long end = System.nanoTime() + (long) (minutes * 60e9);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                Random random = new Random(31L * c + 7);
                pool.submit(() -> {
                    while (!stop.get()) {
                        int pick = random.nextInt(10);
                        int route = pick < 5 ? 0 : pick < 8 ? 1 : 2;
                        long t0 = System.nanoTime();
                        int status = request(http, base, route, random);
                        boolean ok = status == 200;
                        STATUSES.computeIfAbsent(status, k -> new LongAdder()).increment();
                        long took = System.nanoTime() - t0;
                        Window w = current[0];
                        if (ok) {
                            w.add(route, took);
                        } else {
                            synchronized (w) {
                                w.errors++;
                            }
                        }
                        seq.incrementAndGet();
                    }
                    return null;
                });
            }
            int minute = 0;
            while (System.nanoTime() < end) {
                long next = Math.min(end, System.nanoTime() + 60_000_000_000L);
                while (System.nanoTime() < next) {
                    Thread.sleep(Math.max(1, Math.min(1000, (next - System.nanoTime()) / 1_000_000)));
                }
                Window done = current[0];
                current[0] = new Window();
                minute++;
                double[] p50 = new double[3];
                double[] p99 = new double[3];
                for (int r = 0; r < 3; r++) {
                    p50[r] = done.percentile(r, 0.50);
                    p99[r] = done.percentile(r, 0.99);
                }
                Row row = new Row(minute, done.total(), done.errors, p50, p99, heapAfterGcMib(), rssMib());
                rows.add(row);
                System.out.println(format(row));
            }
            stop.set(true);
        }
        System.out.println("status mix: " + new java.util.TreeMap<>(STATUSES));
        System.out.printf(Locale.ROOT, "/health: slowest %.1f ms, not 200: %d%n", healthWorstNanos.get() / 1e6,
                healthNot200.sum());
        System.out.println("log records at WARNING or above: " + LOGGED.warnings.sum() + ", with a stack trace: "
                + LOGGED.stackTraces.sum());
        System.out.println();
        System.out.println("final table (latency in ms; heap = used heap right after System.gc(); RSS = VmRSS)");
        System.out.println("| minute | requests | errors | embed p50 | embed p99 | rerank p50 | rerank p99 | tokenize p50 | tokenize p99 | heap MiB | RSS MiB |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (Row r : rows) {
            StringBuilder latencies = new StringBuilder();
            for (int route = 0; route < 3; route++) {
                latencies.append(r.requests() == 0 ? " - | - |"
                        : String.format(Locale.ROOT, " %.1f | %.1f |", r.p50()[route], r.p99()[route]));
            }
            System.out.printf(Locale.ROOT, "| %d | %d | %d |%s %.1f | %.1f |%n", r.minute(), r.requests(), r.errors(),
                    latencies, r.heapMib(), r.rssMib());
        }
        Row first = rows.get(1 < rows.size() ? 1 : 0);
        Row last = rows.getLast();
        System.out.printf(Locale.ROOT, "heap after GC: %.1f -> %.1f MiB; RSS: %.1f -> %.1f MiB (minute 1 -> %d); errors: %d%n",
                first.heapMib(), last.heapMib(), first.rssMib(), last.rssMib(), last.minute(),
                rows.stream().mapToLong(Row::errors).sum());
    }

    private static String header() {
        return String.format(Locale.ROOT, "%6s %9s %6s %21s %21s %21s %9s %9s", "minute", "requests", "errors",
                "embed p50/p99 ms", "rerank p50/p99 ms", "tokenize p50/p99 ms", "heap MiB", "RSS MiB");
    }

    private static String format(Row r) {
        return String.format(Locale.ROOT, "%6d %9d %6d %21s %21s %21s %9.1f %9.1f", r.minute(), r.requests(), r.errors(),
                pair(r, 0), pair(r, 1), pair(r, 2), r.heapMib(), r.rssMib());
    }

    private static String pair(Row r, int route) {
        return r.requests() == 0 ? "-" : String.format(Locale.ROOT, "%.1f / %.1f", r.p50()[route], r.p99()[route]);
    }

    /** Answers by status (-1: no answer), over the whole run. */
    private static final java.util.Map<Integer, LongAdder> STATUSES = new java.util.concurrent.ConcurrentHashMap<>();

    /** Counts the server's warnings and stack traces while the soak runs. */
    private static final class LogCount extends java.util.logging.Handler {
        final LongAdder warnings = new LongAdder();
        final LongAdder stackTraces = new LongAdder();

        @Override
        public void publish(java.util.logging.LogRecord r) {
            if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                warnings.increment();
            }
            if (r.getThrown() != null) {
                stackTraces.increment();
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    private static final LogCount LOGGED = new LogCount();

    private static final String[] WORDS = {"今天天气很好", "我们去公园散步吧", "向量检索需要高质量的文本表示", "Tandem serves two models",
        "混合 English 与中文的句子", "机器学习是人工智能的一个分支", "请帮我查询明天的航班", "这是一个测试文本", "the quick brown fox",
        "jumps over the lazy dog"};

    private static String text(Random random) {
        int n = 1 + random.nextInt(12);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(WORDS[random.nextInt(WORDS.length)]).append(i % 3 == 2 ? "。" : "，");
        }
        return b.toString();
    }

    private static List<String> texts(Random random, int max) {
        int n = 1 + random.nextInt(max);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(text(random));
        }
        return out;
    }

    /** One request of the given route; its status, or -1 when no answer came. */
    private static int request(HttpClient http, String base, int route, Random random) {
        String body = switch (route) {
            case 0 -> json(Map.of("inputs", texts(random, 8)));
            case 1 -> json(Map.of("query", text(random), "texts", texts(random, 8), "return_text", random.nextBoolean()));
            default -> json(Map.of("inputs", texts(random, 4)));
        };
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/" + ROUTES[route]))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try {
            HttpResponse<byte[]> res = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            return res.statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String json(Object value) {
        try {
            return io.tandem.server.http.HttpIo.JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double heapAfterGcMib() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        System.gc();
        return memory.getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    }

    /** Resident set size of this process (Linux), in MiB; NaN elsewhere. */
    private static double rssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return Double.NaN;
    }
}
