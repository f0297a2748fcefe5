package io.tandem.server.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Load generator for a running Tandem with a bge-m3-shaped embedder and a reranker on one GPU
 * (bench/gpu/run.sh starts both). JDK only: java.net.http with virtual threads.
 *
 * <p>Inputs are made of the synthetic words of bench/gpu/gen_models.py ("w0" ... "w249996"),
 * one token each, so every input has an exact token count (checked against /tokenize).
 * Measures /embed tokens/s at client batches 64×128, 32×512 and 4×4096 tokens and at 64 inputs
 * of mixed lengths (16 to 512 tokens, as torch_baseline.py's padded mixed case), /rerank pairs/s
 * at 256 tokens a pair (32-token query, 220-token texts, 32 texts a request), rerank latency
 * with 16 clients of 8 texts alone and while /embed is saturated, single-query latency (p50/p99)
 * of /embed 1×16 tokens and /rerank 1 query × 20 texts (pairs of 128 tokens), one request at a
 * time on one keep-alive connection, and GPU memory after each throughput case and before and
 * after 10,000 small mixed requests. Writes one Markdown report, rewritten after every row.
 *
 * <pre>
 * java -cp server/target/test-classes io.tandem.server.bench.GpuLoadBench --url http://127.0.0.1:3000 \
 *      --out bench-out/tandem.md [--seconds 15] [--warmup 3] [--server-pid PID] [--deadline-s 300]
 * </pre>
 */
public final class GpuLoadBench {

    private static final int N_WORDS = 250002 - 5;
    private static final long START = System.nanoTime();
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final Pattern METRIC = Pattern.compile(
            "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+([-+0-9.eEaNInf]+)\\s*$");
    private static final Pattern MODEL_LABEL = Pattern.compile("model=\"([^\"]*)\"");
    private static final Pattern JSON_NUMBER = Pattern.compile(
            "\"([A-Za-z0-9_]+)\"\\s*:\\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)");
    private static final Pattern MEMORY_FIELD = Pattern.compile(
            "\"([A-Za-z_]*memory[A-Za-z_]*)\"\\s*:\\s*([0-9.eE+]+)");
    private static final Pattern MODEL_ROLE = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"\\s*,\\s*\"role\"\\s*:\\s*\"(embed|rerank)\"");

    // ---------------------------------------------------------------- options

    private final String url;
    private final Path out;
    private final double seconds;
    private final double warmup;
    private final int embedClients;
    private final int rerankClients;
    private final int latencyClients;
    private final int loadClients;
    private final int mixedTotal;
    private final int mixedClients;
    private final double mixedMaxSeconds;
    private final long serverPid;
    private final long gpuBeforeMiB;
    private final long deadlineNanos;
    private final Map<String, Double> baseline;
    private final Duration requestTimeout;

    private final HttpClient http;
    private final Report report;
    private final Map<String, String> modelNames = new HashMap<>();
    private boolean tokenCountsExact = true;
    private double scale = 1.0;

    private GpuLoadBench(Map<String, String> o) throws IOException {
        url = o.getOrDefault("url", "http://127.0.0.1:3000").replaceAll("/+$", "");
        out = Path.of(o.getOrDefault("out", "gpu-bench.md"));
        seconds = Double.parseDouble(o.getOrDefault("seconds", "15"));
        warmup = Double.parseDouble(o.getOrDefault("warmup", "3"));
        embedClients = Integer.parseInt(o.getOrDefault("embed-clients", "8"));
        rerankClients = Integer.parseInt(o.getOrDefault("rerank-clients", "8"));
        latencyClients = Integer.parseInt(o.getOrDefault("latency-clients", "16"));
        loadClients = Integer.parseInt(o.getOrDefault("load-clients", "4"));
        mixedTotal = Integer.parseInt(o.getOrDefault("mixed", "10000"));
        mixedClients = Integer.parseInt(o.getOrDefault("mixed-clients", "16"));
        mixedMaxSeconds = Double.parseDouble(o.getOrDefault("mixed-max-s", "90"));
        serverPid = Long.parseLong(o.getOrDefault("server-pid", "0"));
        gpuBeforeMiB = parseLong(o.getOrDefault("gpu-before-mib", "-1").strip());
        deadlineNanos = START + (long) (Double.parseDouble(o.getOrDefault("deadline-s", "300")) * 1e9);
        requestTimeout = Duration.ofSeconds(Long.parseLong(o.getOrDefault("request-timeout-s", "60")));
        baseline = o.containsKey("baseline") ? readBaseline(Path.of(o.get("baseline"))) : Map.of();
        http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        report = new Report(out);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            int eq = key.indexOf('=');
            if (eq >= 0) {
                o.put(key.substring(0, eq), key.substring(eq + 1));
            } else if (i + 1 < args.length) {
                o.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
        }
        GpuLoadBench bench = new GpuLoadBench(o);
        bench.startWatchdog();
        int rc = 0;
        try {
            bench.run(Integer.parseInt(o.getOrDefault("wait-health-s", "60")));
        } catch (Throwable t) {
            log("FAILED: " + t);
            bench.report.note("Benchmark stopped by an error: `" + oneLine(String.valueOf(t)) + "`");
            rc = 1;
        }
        bench.report.flush();
        System.out.println();
        System.out.println(bench.report.render());
        System.out.flush();
        System.exit(rc);
    }

    // ---------------------------------------------------------------- plan

    private void run(int waitHealthS) throws Exception {
        log("Tandem GPU load bench against " + url + ", report " + out.toAbsolutePath());
        waitHealthy(waitHealthS);
        String info = get("/info").text();
        String models = get("/models").text();
        log("/info: " + info);
        log("/models: " + models);
        Matcher mr = MODEL_ROLE.matcher(models);
        while (mr.find()) {
            modelNames.put(mr.group(2), mr.group(1));
        }
        report.info = info;
        report.models = models;
        checkTokenCounts();
        planTime();

        report.memory("idle after start (no request yet)", memory());
        embedCase(64, 128);
        embedCase(32, 512);
        embedCase(4, 4096);
        embedMixedCase(64, 16, 512);
        report.memory("after /embed throughput", settledMemory());
        rerankCase(32, 32, 220);
        latencyCase(false);
        latencyCase(true);
        singleQuery("/embed 1×16", "/embed", r -> embedBody(r, 1, 16), "1 input × 16 tokens",
                resp -> checkEmbedResponse(resp, 1), "embed_1x16");
        singleQuery("/rerank 1×20×128", "/rerank", r -> rerankBody(r, 20, 16, 108),
                "query 16 + 20 texts × 108 tokens = 20 pairs × 128 tokens", resp -> checkRerankResponse(resp, 20),
                "rerank_20x128");
        mixed();
        log("done");
    }

    /** Shrinks the per-case duration if the whole plan would not fit before the deadline. */
    private void planTime() {
        // 10 warm-ups (5 throughput, 2 latency, 2 single-query cases, the background load), the mixed run, slack.
        double fixed = 10 * warmup + Math.min(mixedMaxSeconds, 45) + 25;
        double want = fixed + 9 * seconds;
        double have = (deadlineNanos - System.nanoTime()) / 1e9;
        if (want > have) {
            scale = Math.max(0.2, (have - fixed) / (9 * seconds));
            log(String.format(Locale.ROOT, "plan needs ~%.0f s but %.0f s are left: case durations scaled to %.0f%%",
                    want, have, 100 * scale));
            report.note(String.format(Locale.ROOT, "Case durations were scaled to %.0f%% of %.0f s to fit the time budget.",
                    100 * scale, seconds));
        } else {
            log(String.format(Locale.ROOT, "plan: ~%.0f s of %.0f s left", want, have));
        }
    }

    private double measureSeconds() {
        double left = (deadlineNanos - System.nanoTime()) / 1e9 - 15;
        return Math.max(2, Math.min(seconds * scale, left - warmup));
    }

    // ---------------------------------------------------------------- cases

    private void embedCase(int batch, int tokens) throws Exception {
        int[] lengths = new int[batch];
        java.util.Arrays.fill(lengths, tokens);
        embedCase("/embed " + batch + "×" + tokens, lengths, new Random(batch * 31L + tokens),
                batch + " inputs × " + tokens + " tokens", "embed_" + batch + "x" + tokens + "_tok_s");
    }

    /**
     * {@code batch} inputs whose lengths step evenly from shortest to longest (shuffled in each
     * request): what a padded engine pays for and a packed one does not. Rates count real tokens.
     */
    private void embedMixedCase(int batch, int shortest, int longest) throws Exception {
        int[] lengths = steppedLengths(batch, shortest, longest);
        embedCase("/embed " + batch + "×" + shortest + "-" + longest, lengths, new Random(batch * 37L + longest),
                batch + " inputs of " + shortest + " to " + longest + " tokens (" + java.util.Arrays.stream(lengths).sum()
                        + " in all)", "embed_" + batch + "x" + shortest + "to" + longest + "_tok_s");
    }

    /**
     * Lengths stepping evenly from shortest to longest, as torch_baseline.py's mixed cases (and
     * EngineBench's RxA-B cases) use them.
     */
    static int[] steppedLengths(int rows, int shortest, int longest) {
        int[] lengths = new int[rows];
        for (int r = 0; r < rows; r++) {
            lengths[r] = rows == 1 ? longest : shortest + (int) ((long) (longest - shortest) * r / (rows - 1));
        }
        return lengths;
    }

    /** One /embed throughput case: requests of texts with these token counts, in a new order each. */
    private void embedCase(String name, int[] lengths, Random rnd, String request, String baselineKey)
            throws Exception {
        List<byte[]> bodies = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            List<Integer> order = new ArrayList<>();
            for (int length : lengths) {
                order.add(length);
            }
            java.util.Collections.shuffle(order, rnd);
            bodies.add(embedBody(rnd, order.stream().mapToInt(Integer::intValue).toArray()));
        }
        int batch = lengths.length;
        Req template = new Req("/embed", null, batch, java.util.Arrays.stream(lengths).sum());
        Stats s = load(name, embedClients, warmup, measureSeconds(), "embed",
                c -> (i) -> template.with(bodies.get((c + i * 7) % bodies.size())),
                resp -> checkEmbedResponse(resp, batch));
        report.throughput(name, "embed", request, embedClients, s, s.tokensPerSecond(), baseline.get(baselineKey),
                "tok/s");
        report.memory("after " + name, settledMemory());
    }

    private void rerankCase(int texts, int queryTokens, int textTokens) throws Exception {
        int pairTokens = queryTokens + textTokens + 4;
        String name = "/rerank " + texts + "×" + pairTokens;
        List<byte[]> bodies = new ArrayList<>();
        Random rnd = new Random(texts * 17L + pairTokens);
        for (int i = 0; i < 12; i++) {
            bodies.add(rerankBody(rnd, texts, queryTokens, textTokens));
        }
        Req template = new Req("/rerank", null, texts, (long) texts * pairTokens);
        Stats s = load(name, rerankClients, warmup, measureSeconds(), "rerank",
                c -> (i) -> template.with(bodies.get((c + i * 7) % bodies.size())),
                resp -> checkRerankResponse(resp, texts));
        report.throughput(name, "rerank", texts + " texts × " + pairTokens + " tokens/pair (query " + queryTokens
                + " + text " + textTokens + " + 4 specials)", rerankClients, s, s.itemsPerSecond(),
                baseline.get("rerank_64x256_pairs_s"), "pairs/s");
        report.memory("after " + name, settledMemory());
    }

    /** Rerank latency, 16 clients × 8 texts × 256 tokens; optionally while /embed is saturated. */
    private void latencyCase(boolean underLoad) throws Exception {
        int texts = 8;
        List<byte[]> bodies = new ArrayList<>();
        Random rnd = new Random(underLoad ? 99 : 98);
        for (int i = 0; i < 16; i++) {
            bodies.add(rerankBody(rnd, texts, 32, 220));
        }
        Req template = new Req("/rerank", null, texts, texts * 256L);
        String name = "rerank latency " + (underLoad ? "with /embed saturated" : "alone");
        Background bg = null;
        if (underLoad) {
            List<byte[]> embedBodies = new ArrayList<>();
            Random r2 = new Random(5);
            for (int i = 0; i < 8; i++) {
                embedBodies.add(embedBody(r2, 32, 512));
            }
            Req et = new Req("/embed", null, 32, 32L * 512);
            bg = new Background("embed load", loadClients, c -> (i) -> et.with(embedBodies.get((c + i) % embedBodies.size())));
            sleep(warmup);
        }
        Stats s;
        Stats embedStats = null;
        try {
            s = load(name, latencyClients, warmup, measureSeconds(), "rerank",
                    c -> (i) -> template.with(bodies.get((c + i * 5) % bodies.size())),
                    resp -> checkRerankResponse(resp, texts), bg == null ? null : bg.stats);
        } finally {
            if (bg != null) {
                embedStats = bg.stop();
            }
        }
        report.latency(name, latencyClients, texts, s, embedStats, underLoad ? loadClients : 0);
    }

    /**
     * Single-query latency: one client sends one request at a time, all on one keep-alive
     * connection (a raw socket with TCP no-delay, as SDK clients set it), warm-up then the
     * measured window; p50/p99 of the round trip. A reconnect (the server closed the
     * connection) is counted and reported.
     */
    private void singleQuery(String name, String path, java.util.function.Function<Random, byte[]> body, String request,
                             Check check, String baselineKey) throws IOException {
        URI u = URI.create(url);
        String host = u.getHost();
        int port = u.getPort() < 0 ? 80 : u.getPort();
        Random rnd = new Random(name.hashCode());
        List<byte[]> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            byte[] b = body.apply(rnd);
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(("POST " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            o.writeBytes(b);
            requests.add(o.toByteArray());
        }
        double measure = measureSeconds();
        log(String.format(Locale.ROOT, "%s: 1 client on one keep-alive connection, warm-up %.0f s, measure %.1f s",
                name, warmup, measure));
        Stats s = new Stats();
        long[] lat = new long[4096];
        int connections = 0;
        long measuredConnections = 0;
        Conn conn = null;
        long t = System.nanoTime();
        s.windowStart = t + (long) (warmup * 1e9);
        long end = s.windowStart + (long) (measure * 1e9);
        try {
            for (int i = 0; System.nanoTime() < end; i++) {
                if (conn == null) {
                    conn = new Conn(host, port);
                    connections++;
                    if (System.nanoTime() >= s.windowStart) {
                        measuredConnections++;
                    }
                }
                long t0 = System.nanoTime();
                Resp resp;
                try {
                    resp = conn.exchange(requests.get(i % requests.size()));
                } catch (IOException e) {
                    s.error("I/O: " + e.getMessage());
                    conn.close();
                    conn = null;
                    continue;
                }
                long t1 = System.nanoTime();
                if (conn.closed) {
                    conn.close();
                    conn = null;
                }
                if (resp.status() != 200) {
                    s.error(resp.status() + " " + abbreviate(resp.text(), 300));
                    continue;
                }
                if (s.check == null) {
                    s.check = check.check(resp);
                    log(name + ": first response: " + s.check);
                }
                if (t0 >= s.windowStart) {
                    s.requests.increment();
                    lat = grow(lat);
                    lat[(int) ++lat[0]] = t1 - t0;
                }
            }
        } finally {
            if (conn != null) {
                conn.close();
            }
        }
        s.windowEnd = System.nanoTime();
        s.latencies.add(lat);
        double[] ms = s.sortedMs();
        Double torch50 = baseline.get(baselineKey + "_p50_ms");
        Double torch99 = baseline.get(baselineKey + "_p99_ms");
        log(String.format(Locale.ROOT, "%s: %d requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d connections "
                        + "(%d opened in the window), %d errors%s", name, ms.length, pct(ms, 50), pct(ms, 99),
                ms.length == 0 ? Double.NaN : ms[ms.length - 1], connections, measuredConnections, s.errors.sum(),
                s.firstError == null ? "" : "; first error: " + s.firstError));
        report.single(String.format(Locale.ROOT, "| %s | %s | %d | %d (%d reopened in the window) | %.2f | %.2f | %.2f | %.2f "
                        + "| %.2f | %s | %s |", name, request, ms.length, connections, measuredConnections, pct(ms, 50),
                pct(ms, 90), pct(ms, 99), ms.length == 0 ? Double.NaN : ms[ms.length - 1], pct(ms, 99) / pct(ms, 50),
                torch50 == null ? "-" : String.format(Locale.ROOT, "%.2f / %.2f (p50 %.2f×)", torch50, torch99,
                        pct(ms, 50) / torch50), errorsText(s)));
    }

    /** One keep-alive HTTP/1.1 connection: a request written whole, its response read whole. */
    private static final class Conn implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        boolean closed;

        Conn(String host, int port) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(60_000);
            in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
            out = socket.getOutputStream();
        }

        Resp exchange(byte[] request) throws IOException {
            out.write(request);
            out.flush();
            String status = line();
            int length = -1;
            boolean chunked = false;
            for (String h = line(); !h.isEmpty(); h = line()) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Integer.parseInt(h.substring(15).strip());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                } else if (lower.startsWith("connection:") && lower.contains("close")) {
                    closed = true;
                }
            }
            byte[] body;
            if (chunked) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (int n; (n = Integer.parseInt(line().split(";")[0].strip(), 16)) > 0; ) {
                    b.writeBytes(in.readNBytes(n));
                    line();
                }
                while (!line().isEmpty()) {
                    // trailers
                }
                body = b.toByteArray();
            } else if (length >= 0) {
                body = in.readNBytes(length);
                if (body.length != length) {
                    throw new IOException("response cut");
                }
            } else {
                throw new IOException("response without Content-Length or chunked body: " + status);
            }
            String[] p = status.split(" ");
            return new Resp(p.length > 1 ? Integer.parseInt(p[1]) : -1, body);
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new IOException("connection closed by the server");
                }
                if (c != '\r') {
                    sb.append((char) c);
                }
            }
            return sb.toString();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    /** 10,000 small requests, /embed and /rerank alternating; GPU memory before, during and after. */
    private void mixed() throws Exception {
        MemorySnapshot before = memory();
        report.memory("before " + mixedTotal + " mixed requests", before);
        AtomicInteger next = new AtomicInteger();
        LongAdder okCount = new LongAdder();
        LongAdder errors = new LongAdder();
        String[] firstError = {null};
        int[] marks = {mixedTotal / 4, mixedTotal / 2, 3 * mixedTotal / 4};
        AtomicInteger markIndex = new AtomicInteger();
        List<String> during = new ArrayList<>();
        long stopAt = System.nanoTime() + (long) (Math.min(mixedMaxSeconds,
                Math.max(5, (deadlineNanos - System.nanoTime()) / 1e9 - 10)) * 1e9);
        AtomicBoolean stop = new AtomicBoolean();
        log("mixed: " + mixedTotal + " requests, " + mixedClients + " clients, /embed (4 inputs × 8-64 tokens) and "
                + "/rerank (query 8 + 4 texts × 8-64 tokens) alternating");
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        for (int c = 0; c < mixedClients; c++) {
            long seed = 1000 + c;
            pool.submit(() -> {
                Random rnd = new Random(seed);
                int i;
                while (!stop.get() && (i = next.getAndIncrement()) < mixedTotal) {
                    if (System.nanoTime() > stopAt) {
                        stop.set(true);
                        break;
                    }
                    boolean embed = (i & 1) == 0;
                    byte[] body = embed ? embedBody(rnd, 4, 8 + rnd.nextInt(57))
                            : rerankBodyVar(rnd, 4, 8);
                    Resp r = post(embed ? "/embed" : "/rerank", body);
                    if (r.status == 200) {
                        okCount.increment();
                    } else {
                        errors.increment();
                        synchronized (firstError) {
                            if (firstError[0] == null) {
                                firstError[0] = r.status + " " + abbreviate(r.text(), 200);
                            }
                        }
                        if (r.status == 429) {
                            sleep(0.02);
                        }
                    }
                    int m = markIndex.get();
                    if (m < marks.length && i == marks[m] && markIndex.compareAndSet(m, m + 1)) {
                        MemorySnapshot snap = memory();
                        synchronized (during) {
                            during.add(marks[m] + ": " + snap.shortText());
                        }
                        log("mixed: " + i + " requests sent; " + snap.shortText());
                    }
                }
                return null;
            });
        }
        pool.shutdown();
        if (!pool.awaitTermination((long) ((stopAt - System.nanoTime()) / 1e9) + requestTimeout.toSeconds() + 5,
                TimeUnit.SECONDS)) {
            stop.set(true);
            pool.shutdownNow();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long done = okCount.sum() + errors.sum();
        log(String.format(Locale.ROOT, "mixed: %d requests in %.1f s (%.0f req/s), %d errors%s", done, secs,
                done / secs, errors.sum(), firstError[0] == null ? "" : ", first: " + firstError[0]));
        MemorySnapshot after = settledMemory();
        String label = "after " + done + " mixed requests (" + String.format(Locale.ROOT, "%.0f req/s", done / secs)
                + (errors.sum() > 0 ? ", " + errors.sum() + " errors" : "") + ")";
        report.memory(label, after);
        report.mixedNote = String.format(Locale.ROOT,
                "Mixed run: %d of %d requests done in %.1f s, %d errors%s. Process GPU memory %s → %s "
                        + "(change %s); GPU used %s → %s (change %s). During the run: %s.",
                done, mixedTotal, secs, errors.sum(), firstError[0] == null ? "" : " (first: `" + firstError[0] + "`)",
                mib(before.processMiB), mib(after.processMiB), delta(before.processMiB, after.processMiB),
                mib(before.gpuUsedMiB), mib(after.gpuUsedMiB), delta(before.gpuUsedMiB, after.gpuUsedMiB),
                during.isEmpty() ? "-" : String.join("; ", during));
        report.flush();
    }

    // ---------------------------------------------------------------- load engine

    /** One request kind: body is filled per call. */
    record Req(String path, byte[] body, int items, long tokens) {
        Req with(byte[] b) {
            return new Req(path, b, items, tokens);
        }
    }

    interface ReqSource {
        Req next(int i);
    }

    interface Check {
        String check(Resp r);
    }

    /** Counters of one load phase; only completions inside [windowStart, windowEnd] count. */
    static final class Stats {
        final LongAdder requests = new LongAdder();
        final LongAdder items = new LongAdder();
        final LongAdder tokens = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder rejected = new LongAdder();
        final LongAdder total = new LongAdder();
        final List<long[]> latencies = new ArrayList<>();
        volatile long windowStart = Long.MAX_VALUE;
        volatile long windowEnd = Long.MAX_VALUE;
        volatile String firstError;
        volatile String check;
        Map<String, double[]> batchDelta = Map.of();

        double window() {
            return (windowEnd - windowStart) / 1e9;
        }

        double tokensPerSecond() {
            return tokens.sum() / window();
        }

        double itemsPerSecond() {
            return items.sum() / window();
        }

        double requestsPerSecond() {
            return requests.sum() / window();
        }

        double[] sortedMs() {
            List<Long> all = new ArrayList<>();
            synchronized (latencies) {
                for (long[] l : latencies) {
                    for (int i = 1; i <= l[0]; i++) {
                        all.add(l[i]);
                    }
                }
            }
            double[] v = new double[all.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = all.get(i) / 1e6;
            }
            Arrays.sort(v);
            return v;
        }

        void error(String text) {
            errors.increment();
            if (firstError == null) {
                firstError = text;
            }
        }
    }

    /** Per-client latency buffer (element 0 holds the count). */
    private static long[] grow(long[] buf) {
        if (buf[0] + 1 < buf.length) {
            return buf;
        }
        return Arrays.copyOf(buf, buf.length * 2);
    }

    private Stats load(String name, int clients, double warm, double measure, String role,
                       IntFunction<ReqSource> perClient, Check check) throws Exception {
        return load(name, clients, warm, measure, role, perClient, check, null);
    }

    /**
     * Closed loop: {@code clients} virtual threads each send one request at a time for
     * warm-up + measure seconds. {@code alsoWindow} (a background phase) gets the same window.
     */
    private Stats load(String name, int clients, double warm, double measure, String role,
                       IntFunction<ReqSource> perClient, Check check, Stats alsoWindow) throws Exception {
        log(String.format(Locale.ROOT, "%s: %d clients, warm-up %.0f s, measure %.1f s", name, clients, warm, measure));
        Stats s = new Stats();
        Map<String, double[]> before = batchMetrics();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean checked = new AtomicBoolean();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        for (int c = 0; c < clients; c++) {
            ReqSource src = perClient.apply(c);
            pool.submit(() -> {
                long[] lat = new long[1024];
                try {
                    int i = 0;
                    while (!stop.get()) {
                        Req r = src.next(i++);
                        long t0 = System.nanoTime();
                        Resp resp = post(r.path(), r.body());
                        long t1 = System.nanoTime();
                        s.total.increment();
                        if (resp.status == 200) {
                            if (checked.compareAndSet(false, true)) {
                                s.check = check.check(resp);
                                log(name + ": first response: " + s.check);
                            }
                            if (t1 >= s.windowStart && t1 <= s.windowEnd) {
                                s.requests.increment();
                                s.items.add(r.items());
                                s.tokens.add(r.tokens());
                                lat = grow(lat);
                                lat[(int) ++lat[0]] = t1 - t0;
                            }
                        } else if (resp.status == 429) {
                            s.rejected.increment();
                            sleep(0.02);
                        } else {
                            s.error(resp.status + " " + abbreviate(resp.text(), 300));
                            if (resp.status < 0) {
                                sleep(0.2);
                            }
                        }
                    }
                } finally {
                    synchronized (s.latencies) {
                        s.latencies.add(lat);
                    }
                }
                return null;
            });
        }
        sleep(warm);
        s.windowStart = System.nanoTime();
        if (alsoWindow != null) {
            alsoWindow.windowStart = s.windowStart;
        }
        long end = s.windowStart + (long) (measure * 1e9);
        long left;
        while ((left = end - System.nanoTime()) > 0) {
            sleep(Math.min(5, left / 1e9));
            if (end - System.nanoTime() > 500_000_000L) {
                double el = (System.nanoTime() - s.windowStart) / 1e9;
                log(String.format(Locale.ROOT, "  %s: %.0f s, %d requests, %.0f tok/s, %d errors, %d rejected", name,
                        el, s.requests.sum(), s.tokens.sum() / el, s.errors.sum(), s.rejected.sum()));
            }
        }
        s.windowEnd = System.nanoTime();
        if (alsoWindow != null) {
            alsoWindow.windowEnd = s.windowEnd;
        }
        stop.set(true);
        pool.shutdown();
        if (!pool.awaitTermination(requestTimeout.toSeconds() + 5, TimeUnit.SECONDS)) {
            log(name + ": clients still busy after the request timeout; abandoning them");
            pool.shutdownNow();
        }
        s.batchDelta = diff(before, batchMetrics());
        double[] ms = s.sortedMs();
        log(String.format(Locale.ROOT, "%s: %.1f req/s, %.1f items/s, %.0f tok/s, p50 %.1f ms, p99 %.1f ms, "
                        + "%d errors, %d rejected%s", name, s.requestsPerSecond(), s.itemsPerSecond(), s.tokensPerSecond(),
                pct(ms, 50), pct(ms, 99), s.errors.sum(), s.rejected.sum(),
                s.firstError == null ? "" : "; first error: " + s.firstError));
        // Metrics label a model by its folder's name, /models by its path (or both the same).
        String served = modelNames.getOrDefault(role, "");
        s.batchDelta = s.batchDelta.entrySet().stream().filter(e -> e.getKey().equals(served)
                || served.endsWith("/" + e.getKey()) || !modelNames.containsKey(role)).collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                Map.Entry::getValue));
        return s;
    }

    /** A load that runs until stopped (the /embed saturation behind the latency test). */
    private final class Background {
        final Stats stats = new Stats();
        final AtomicBoolean stop = new AtomicBoolean();
        final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        final String name;

        Background(String name, int clients, IntFunction<ReqSource> perClient) {
            this.name = name;
            log(name + ": " + clients + " clients started");
            for (int c = 0; c < clients; c++) {
                ReqSource src = perClient.apply(c);
                pool.submit(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        Req r = src.next(i++);
                        Resp resp = post(r.path(), r.body());
                        long t1 = System.nanoTime();
                        stats.total.increment();
                        if (resp.status == 200) {
                            if (t1 >= stats.windowStart && t1 <= stats.windowEnd) {
                                stats.requests.increment();
                                stats.items.add(r.items());
                                stats.tokens.add(r.tokens());
                            }
                        } else if (resp.status == 429) {
                            stats.rejected.increment();
                            sleep(0.02);
                        } else {
                            stats.error(resp.status + " " + abbreviate(resp.text(), 300));
                            if (resp.status < 0) {
                                sleep(0.2);
                            }
                        }
                    }
                    return null;
                });
            }
        }

        Stats stop() throws InterruptedException {
            stop.set(true);
            pool.shutdown();
            if (!pool.awaitTermination(requestTimeout.toSeconds() + 5, TimeUnit.SECONDS)) {
                pool.shutdownNow();
            }
            log(String.format(Locale.ROOT, "%s: %.0f tok/s during the window, %d errors", name,
                    stats.windowEnd == Long.MAX_VALUE ? 0 : stats.tokensPerSecond(), stats.errors.sum()));
            return stats;
        }
    }

    // ---------------------------------------------------------------- request bodies

    private static void words(StringBuilder sb, Random rnd, int n) {
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append('w').append(rnd.nextInt(N_WORDS));
        }
    }

    /** {"inputs": [...]} with {@code batch} texts of exactly {@code tokens} tokens each (specials included). */
    static byte[] embedBody(Random rnd, int batch, int tokens) {
        int[] lengths = new int[batch];
        java.util.Arrays.fill(lengths, tokens);
        return embedBody(rnd, lengths);
    }

    /** {"inputs": [...]} with one text per length, each of exactly that many tokens (specials included). */
    static byte[] embedBody(Random rnd, int[] lengths) {
        StringBuilder sb = new StringBuilder(java.util.Arrays.stream(lengths).sum() * 8 + 64).append("{\"inputs\":[");
        for (int b = 0; b < lengths.length; b++) {
            sb.append(b == 0 ? "\"" : ",\"");
            words(sb, rnd, lengths[b] - 2);
            sb.append('"');
        }
        return sb.append("],\"normalize\":true,\"truncate\":false}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A rerank request whose pairs are exactly queryTokens + textTokens + 4 tokens. */
    static byte[] rerankBody(Random rnd, int texts, int queryTokens, int textTokens) {
        StringBuilder sb = new StringBuilder(texts * textTokens * 8 + 512).append("{\"query\":\"");
        words(sb, rnd, queryTokens);
        sb.append("\",\"texts\":[");
        for (int t = 0; t < texts; t++) {
            sb.append(t == 0 ? "\"" : ",\"");
            words(sb, rnd, textTokens);
            sb.append('"');
        }
        return sb.append("],\"truncate\":false,\"raw_scores\":false,\"return_text\":false}")
                .toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Small rerank with texts of 8-64 tokens (mixed run). */
    static byte[] rerankBodyVar(Random rnd, int texts, int queryTokens) {
        StringBuilder sb = new StringBuilder(1024).append("{\"query\":\"");
        words(sb, rnd, queryTokens);
        sb.append("\",\"texts\":[");
        for (int t = 0; t < texts; t++) {
            sb.append(t == 0 ? "\"" : ",\"");
            words(sb, rnd, 8 + rnd.nextInt(57));
            sb.append('"');
        }
        return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Random rnd, int words) {
        StringBuilder sb = new StringBuilder();
        words(sb, rnd, words);
        return sb.toString();
    }

    // ---------------------------------------------------------------- checks

    /** Token counts of generated texts as the server's own tokenizers count them. */
    private void checkTokenCounts() {
        Random rnd = new Random(3);
        List<String> lines = new ArrayList<>();
        int[][] cases = {{126, 128}, {510, 512}, {4094, 4096}, {32, 34}, {220, 222}};
        for (String path : new String[] {"/tokenize", "/models/rerank/tokenize"}) {
            for (int[] c : cases) {
                if (path.contains("rerank") && c[1] > 512) {
                    continue;
                }
                String body = "{\"inputs\":\"" + text(rnd, c[0]) + "\",\"add_special_tokens\":true}";
                Resp r = post(path, body.getBytes(StandardCharsets.UTF_8));
                if (r.status != 200) {
                    lines.add(path + " " + c[0] + " words: HTTP " + r.status + " " + abbreviate(r.text(), 120));
                    if (path.equals("/tokenize")) {
                        tokenCountsExact = false;
                    }
                    break;
                }
                int n = count(r.text(), "\"id\":");
                boolean ok = n == c[1];
                tokenCountsExact &= ok || path.contains("rerank");
                lines.add(path + " " + c[0] + " words → " + n + " tokens" + (ok ? "" : " (expected " + c[1] + ")"));
            }
        }
        lines.forEach(l -> log("token check: " + l));
        report.note(tokenCountsExact
                ? "Token counts are exact: the server's /tokenize gives N words + 2 specials (" + lines.size() + " checks)."
                : "WARNING: token counts are NOT exact for this tokenizer; tokens/s are nominal. Checks: "
                        + String.join("; ", lines));
    }

    private static String checkEmbedResponse(Resp r, int batch) {
        String t = r.text();
        int vectors = count(t, "[") - 1;
        int end = t.indexOf(']');
        int dims = end < 0 ? 0 : count(t.substring(0, end), ",") + 1;
        return vectors + " vectors × " + dims + " dims" + (vectors == batch ? "" : " (expected " + batch + " vectors!)");
    }

    private static String checkRerankResponse(Resp r, int texts) {
        int n = count(r.text(), "\"index\"");
        return n + " scores" + (n == texts ? "" : " (expected " + texts + "!)");
    }

    // ---------------------------------------------------------------- HTTP

    record Resp(int status, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private Resp post(String path, byte[] body) {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + path))
                .timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        return send(req);
    }

    private Resp get(String path) {
        return send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10)).GET().build());
    }

    private Resp send(HttpRequest req) {
        try {
            HttpResponse<byte[]> res = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            return new Resp(res.statusCode(), res.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Resp(-1, "interrupted".getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Resp(-1, (e.getClass().getSimpleName() + ": " + e.getMessage()).getBytes(StandardCharsets.UTF_8));
        }
    }

    private void waitHealthy(int seconds) {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            Resp r = get("/health");
            if (r.status == 200) {
                log("/health: 200");
                return;
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("server not healthy after " + seconds + " s: " + r.status + " "
                        + abbreviate(r.text(), 200));
            }
            sleep(1);
        }
    }

    // ---------------------------------------------------------------- metrics and memory

    /** model → {batch-size sum, count, batch-tokens sum, count} from /metrics. */
    private Map<String, double[]> batchMetrics() {
        Map<String, double[]> m = new HashMap<>();
        Resp r = get("/metrics");
        if (r.status != 200) {
            return m;
        }
        for (String line : r.text().split("\n")) {
            Matcher x = METRIC.matcher(line);
            if (!x.matches()) {
                continue;
            }
            int slot = switch (x.group(1)) {
                case "te_batch_next_size_sum" -> 0;
                case "te_batch_next_size_count" -> 1;
                case "te_batch_next_tokens_sum" -> 2;
                case "te_batch_next_tokens_count" -> 3;
                default -> -1;
            };
            if (slot < 0) {
                continue;
            }
            Matcher lm = MODEL_LABEL.matcher(x.group(2) == null ? "" : x.group(2));
            String model = lm.find() ? lm.group(1) : "?";
            m.computeIfAbsent(model, k -> new double[4])[slot] += parse(x.group(3));
        }
        return m;
    }

    private static Map<String, double[]> diff(Map<String, double[]> a, Map<String, double[]> b) {
        Map<String, double[]> d = new LinkedHashMap<>();
        b.forEach((k, v) -> {
            double[] old = a.getOrDefault(k, new double[4]);
            double[] x = new double[4];
            for (int i = 0; i < 4; i++) {
                x[i] = v[i] - old[i];
            }
            if (x[1] > 0) {
                d.put(k, x);
            }
        });
        return d;
    }

    record MemorySnapshot(String processMiB, String gpuUsedMiB, String gpuTotalMiB, String sinceStartMiB,
                          String perModel, String note) {
        String shortText() {
            return "process " + mib(processMiB) + ", GPU " + mib(gpuUsedMiB) + ", GPU − before server start "
                    + mib(sinceStartMiB) + (perModel.isEmpty() ? "" : ", " + perModel);
        }
    }

    /**
     * Memory once the models had time to give back what a load left: the server shrinks a GPU
     * arena 200 ms after its model goes idle (models/.../pipeline/ArenaShrink).
     */
    private MemorySnapshot settledMemory() {
        sleep(0.5);
        return memory();
    }

    private MemorySnapshot memory() {
        String process = "n/a";
        String note = "";
        List<String> apps = exec("nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits");
        if (apps == null) {
            note = "nvidia-smi not available";
        } else {
            long sum = 0;
            boolean found = false;
            List<String> rows = new ArrayList<>();
            for (String line : apps) {
                String[] p = line.split(",");
                if (p.length < 2) {
                    continue;
                }
                rows.add(line.strip());
                long pid = parseLong(p[0].strip());
                long used = parseLong(p[1].strip());
                if (serverPid == 0 || pid == serverPid) {
                    found |= used >= 0;
                    sum += Math.max(used, 0);
                }
            }
            if (found) {
                process = Long.toString(sum);
            } else {
                note = "server pid " + serverPid + " not in nvidia-smi's compute apps " + rows;
            }
        }
        String used = "n/a";
        String total = "n/a";
        List<String> gpu = exec("nvidia-smi", "-i", "0", "--query-gpu=memory.used,memory.total",
                "--format=csv,noheader,nounits");
        if (gpu != null && !gpu.isEmpty()) {
            String[] p = gpu.getFirst().split(",");
            used = p[0].strip();
            total = p.length > 1 ? p[1].strip() : "n/a";
        }
        StringBuilder perModel = new StringBuilder();
        Resp r = get("/metrics");
        if (r.status == 200) {
            for (String line : r.text().split("\n")) {
                Matcher x = METRIC.matcher(line);
                if (x.matches() && x.group(1).equals("tandem_gpu_memory_bytes")) {
                    Matcher lm = MODEL_LABEL.matcher(x.group(2) == null ? "" : x.group(2));
                    double v = parse(x.group(3));
                    perModel.append(perModel.isEmpty() ? "" : ", ").append(lm.find() ? lm.group(1) : "?").append(' ')
                            .append(Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", v / 1048576));
                }
            }
        }
        Resp models = get("/models");
        if (models.status == 200) {
            Matcher mm = MEMORY_FIELD.matcher(models.text());
            while (mm.find()) {
                perModel.append(perModel.isEmpty() ? "" : ", ").append("/models ").append(mm.group(1)).append(' ')
                        .append(mm.group(2));
            }
        }
        String since = "n/a";
        if (gpuBeforeMiB >= 0 && parseLong(used) >= 0) {
            since = Long.toString(parseLong(used) - gpuBeforeMiB);
        }
        MemorySnapshot s = new MemorySnapshot(process, used, total, since, perModel.toString(), note);
        log("memory: " + s.shortText() + (note.isEmpty() ? "" : " (" + note + ")"));
        return s;
    }

    /** Runs a command with a 15 s limit; null when it cannot run or fails. */
    private static List<String> exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.exitValue() == 0 ? outText.lines().filter(l -> !l.isBlank()).toList() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    // ---------------------------------------------------------------- report

    /** The Markdown report; rewritten to disk after every row so a cut run keeps its rows. */
    private final class Report {
        final Path file;
        final List<String> throughputRows = new ArrayList<>();
        final List<String> latencyRows = new ArrayList<>();
        final List<String> singleRows = new ArrayList<>();
        final List<String> memoryRows = new ArrayList<>();
        final List<String> notes = new ArrayList<>();
        String mixedNote;
        String info;
        String models;

        Report(Path file) throws IOException {
            this.file = file;
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        }

        synchronized void throughput(String name, String role, String shape, int clients, Stats s, double rate,
                                     Double torch, String unit) {
            double[] ms = s.sortedMs();
            throughputRows.add(String.format(Locale.ROOT, "| %s | %s | %d | %.1f | %s %s | %s | %s | %.1f | %.1f | %s | %s |",
                    name, shape, clients, s.requestsPerSecond(), fmt(rate), unit,
                    torch == null ? "-" : String.format(Locale.ROOT, "%s (%.2f×)", fmt(torch), rate / torch),
                    fmtTokens(s), pct(ms, 50), pct(ms, 99), errorsText(s), batchText(s)));
            flush();
        }

        synchronized void latency(String name, int clients, int texts, Stats s, Stats embed, int embedClients) {
            double[] ms = s.sortedMs();
            latencyRows.add(String.format(Locale.ROOT, "| %s | %d × %d texts | %.1f | %s | %.1f | %.1f | %.1f | %.1f | %s | %s |",
                    name, clients, texts, s.requestsPerSecond(), fmt(s.itemsPerSecond()), pct(ms, 50), pct(ms, 90),
                    pct(ms, 99), ms.length == 0 ? Double.NaN : ms[ms.length - 1], errorsText(s),
                    embed == null ? "-" : String.format(Locale.ROOT, "%s tok/s (%d clients × 32×512)%s",
                            fmt(embed.tokensPerSecond()), embedClients,
                            embed.errors.sum() > 0 ? ", " + embed.errors.sum() + " errors" : "")));
            flush();
        }

        synchronized void single(String row) {
            singleRows.add(row);
            flush();
        }

        synchronized void memory(String point, MemorySnapshot m) {
            memoryRows.add("| " + point + " | " + mib(m.processMiB) + " | " + mib(m.sinceStartMiB) + " | " + mib(m.gpuUsedMiB)
                    + " / " + mib(m.gpuTotalMiB) + " | " + (m.perModel.isEmpty() ? "-" : m.perModel) + " | "
                    + (m.note.isEmpty() ? "" : m.note) + " |");
            flush();
        }

        synchronized void note(String n) {
            notes.add(n);
            flush();
        }

        synchronized String render() {
            StringBuilder sb = new StringBuilder();
            sb.append("## Tandem over HTTP (").append(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")))
                    .append(")\n\n");
            sb.append(String.format(Locale.ROOT, "Server %s; %.0f s warm-up + %.0f s measured per case (closed loop: each "
                    + "client sends its next request when the previous one answers). Tokens include the special tokens.%n%n",
                    url, warmup, seconds * scale));
            sb.append("### Throughput\n\n");
            sb.append("| case | request | clients | req/s | rate | torch in-process (Tandem ÷ torch) | tokens/s "
                    + "| p50 ms | p99 ms | errors | server batches: inputs / tokens (avg) |\n");
            sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            throughputRows.forEach(r -> sb.append(r).append('\n'));
            sb.append("\n### Rerank latency (each request: query 32 + 8 texts × 220 tokens = 8 pairs × 256 tokens)\n\n");
            sb.append("| condition | clients | req/s | pairs/s | p50 ms | p90 ms | p99 ms | max ms | errors | /embed meanwhile |\n");
            sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            latencyRows.forEach(r -> sb.append(r).append('\n'));
            sb.append("\n### Single query (1 client, one request at a time, all on one keep-alive connection)\n\n");
            sb.append("| case | request | requests | connections | p50 ms | p90 ms | p99 ms | max ms | p99 ÷ p50 "
                    + "| torch in-process p50 / p99 ms | errors |\n");
            sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            singleRows.forEach(r -> sb.append(r).append('\n'));
            sb.append("\n### GPU memory (nvidia-smi; both models share the one JVM process, so per process = both models)\n\n");
            if (gpuBeforeMiB >= 0) {
                sb.append("GPU memory used before the server started: ").append(gpuBeforeMiB).append(" MiB.\n\n");
            }
            sb.append("| point | Tandem process | GPU used − before server start | GPU used / total "
                    + "| per model (tandem_gpu_memory_bytes, /models) | note |\n");
            sb.append("| --- | --- | --- | --- | --- | --- |\n");
            memoryRows.forEach(r -> sb.append(r).append('\n'));
            if (mixedNote != null) {
                sb.append('\n').append(mixedNote).append('\n');
            }
            if (!notes.isEmpty()) {
                sb.append('\n');
                notes.forEach(n -> sb.append("- ").append(n).append('\n'));
            }
            if (info != null) {
                sb.append("\n<details><summary>/info and /models</summary>\n\n```json\n").append(info).append("\n")
                        .append(models).append("\n```\n</details>\n");
            }
            return sb.toString();
        }

        synchronized void flush() {
            try {
                Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
                Files.writeString(tmp, render());
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static String fmtTokens(Stats s) {
        return fmt(s.tokensPerSecond());
    }

    private static String errorsText(Stats s) {
        long e = s.errors.sum();
        long r = s.rejected.sum();
        if (e == 0 && r == 0) {
            return "0";
        }
        return e + (r > 0 ? " (+" + r + " × 429)" : "") + (s.firstError == null ? "" : ": `" + abbreviate(s.firstError, 80) + "`");
    }

    private static String batchText(Stats s) {
        if (s.batchDelta.isEmpty()) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        s.batchDelta.forEach((model, v) -> sb.append(sb.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT,
                "%.1f / %.0f", v[0] / v[1], v[3] > 0 ? v[2] / v[3] : Double.NaN)));
        return sb.toString();
    }

    // ---------------------------------------------------------------- small helpers

    private void startWatchdog() {
        Thread t = new Thread(() -> {
            long left;
            while ((left = deadlineNanos - System.nanoTime()) > 0) {
                try {
                    Thread.sleep(Math.max(1, Math.min(left / 1_000_000, 1000)));
                } catch (InterruptedException e) {
                    return;
                }
            }
            log("DEADLINE reached: writing what was measured and exiting");
            try {
                report.note("The run was cut at its deadline; rows missing above were not measured.");
                System.out.println(report.render());
            } finally {
                System.out.flush();
                Runtime.getRuntime().halt(3);
            }
        }, "deadline");
        t.setDaemon(true);
        t.start();
    }

    private static Map<String, Double> readBaseline(Path p) {
        Map<String, Double> m = new HashMap<>();
        try {
            Matcher x = JSON_NUMBER.matcher(Files.readString(p));
            while (x.find()) {
                m.put(x.group(1), Double.parseDouble(x.group(2)));
            }
            log("baseline " + p + ": " + m);
        } catch (IOException | RuntimeException e) {
            log("no baseline from " + p + ": " + e);
        }
        return m;
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.clamp(i, 0, sorted.length - 1)];
    }

    static String fmt(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        if (v >= 10_000) {
            return String.format(Locale.ROOT, "%.1fk", v / 1000);
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f" : "%.1f", v);
    }

    private static String mib(String v) {
        return v == null || v.equals("n/a") ? "n/a" : v + " MiB";
    }

    private static String delta(String a, String b) {
        try {
            long d = Long.parseLong(b) - Long.parseLong(a);
            return (d >= 0 ? "+" : "") + d + " MiB";
        } catch (NumberFormatException e) {
            return "n/a";
        }
    }

    private static double parse(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

    private static String abbreviate(String s, int max) {
        String t = oneLine(s);
        return t.length() <= max ? t : t.substring(0, max) + "…";
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ').replace('|', '/');
    }

    private static void sleep(double seconds) {
        try {
            Thread.sleep((long) Math.max(0, seconds * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void log(String msg) {
        System.out.printf(Locale.ROOT, "[%s +%6.1fs] %s%n", LocalDateTime.now().format(CLOCK),
                (System.nanoTime() - START) / 1e9, msg);
        System.out.flush();
    }
}
