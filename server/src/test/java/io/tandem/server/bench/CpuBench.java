package io.tandem.server.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.models.BuiltinModels;
import io.tandem.models.ModelOptions;
import io.tandem.models.api.Embedder;
import io.tandem.models.api.Reranker;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;

import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One round of Tandem on the CPU, for bench/cpu/run.sh, which alternates rounds of it with rounds
 * of LangChain4j's in-process model (the machine's speed drifts by 10-20% over minutes, so the
 * two are compared round by round and summed up by median). Not a test: speed belongs in
 * benchmarks.
 *
 * <ul>
 *   <li>{@code embed CORPUS LC4J_VECTORS QUERY [INT8_DIR] [-- FLAGS]}: the library's throughput
 *   (also with the whole last layer, before/after of ClsPruning, and the opt-in int8 copy when
 *   given), /embed's with 4 and 1 clients of 32-text batches, a short query's latency (the model
 *   alone, the library, /embed on a keep-alive connection), the vectors against LangChain4j's.
 *   <li>{@code rerank CORPUS QUERY RERANKER_DIR [-- FLAGS]}: pairs/s of 4 callers of the library
 *   against 4 clients of /rerank, 32 pairs a call (also with the whole last layer).
 * </ul>
 * Prints one {@code RESULT key=value ...} line.
 */
public final class CpuBench {

    private static final int BATCH = 32;
    private static final int CLIENTS = 4;
    /**
     * Calls before a latency is timed: the server's JIT is still compiling the HTTP path after a
     * few hundred requests (one query: 7.9 ms p50 after 50 requests, 5.9 ms after 2,000), and a
     * server that has run a while is what users meet. Lc4jBench warms up as long.
     */
    private static final int WARM_UP_CALLS = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelOptions CPU = new ModelOptions(DeviceChoice.CPU, null, null, 0);

    public static void main(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        List<String> flags = new ArrayList<>(List.of("--device", "cpu", "--port", "0"));
        boolean tandemFlags = false;
        for (String a : args) {
            if (a.equals("--")) {
                tandemFlags = true;
            } else {
                (tandemFlags ? flags : positional).add(a);
            }
        }
        List<String> corpus = Files.readAllLines(Path.of(positional.get(1)), StandardCharsets.UTF_8);
        switch (positional.getFirst()) {
            case "embed" -> embed(corpus, readVectors(Path.of(positional.get(2))), positional.get(3),
                    positional.size() > 4 ? Path.of(positional.get(4)) : null, flags);
            case "rerank" -> rerank(corpus, positional.get(2), Path.of(positional.get(3)), flags);
            default -> throw new IllegalArgumentException("mode: embed or rerank");
        }
    }

    private static void embed(List<String> corpus, float[][] anchor, String query, Path int8, List<String> flags)
            throws Exception {
        ServerConfig config = Flags.parse(flags.toArray(String[]::new), Map.of());
        Path builtin = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir());
        InferenceSettings settings = InferenceSettings.library(config.embed().inference().maxBatchTokens());
        Map<String, Double> result = new java.util.LinkedHashMap<>();

        float[][] vectors;
        try (Embedder embedder = Embedder.open(builtin, CPU, settings, InferenceListener.NONE)) {
            vectors = embedder.embed(corpus).toArray(float[][]::new); // also the warm-up
            result.put("tandem_library", rate(corpus.size(), () -> embedder.embed(corpus)));
            result.put("library_single_p50_ms", p50(latencies(() -> embedder.embed(query))));
        }
        result.put("lowest_cosine", lowestCosine(anchor, vectors));
        try (Embedder embedder = Embedder.open(builtin, CPU.withFullLastLayer(), settings, InferenceListener.NONE)) {
            embedder.embed(corpus);
            result.put("tandem_library_full_last_layer", rate(corpus.size(), () -> embedder.embed(corpus)));
        }
        if (int8 != null) {
            try (Embedder embedder = Embedder.open(int8, CPU, settings, InferenceListener.NONE)) {
                float[][] v = embedder.embed(corpus).toArray(float[][]::new);
                result.put("int8_library", rate(corpus.size(), () -> embedder.embed(corpus)));
                result.put("int8_lowest_cosine", lowestCosine(anchor, v));
            }
        }
        // The graph alone: one session run of the tokenized query, no queue, on this thread.
        try (EmbedderModel model = (EmbedderModel) Model.load("bge-small-zh", builtin, CPU)) {
            List<Tokens> one = List.of(model.tokenizer().encode(query, Truncation.RIGHT));
            result.put("model_single_p50_ms", p50(latencies(() -> model.embed(one, EnumSet.of(EmbedOutput.DENSE)))));
        }

        try (Tandem tandem = Tandem.start(config)) {
            List<String> bodies = new ArrayList<>();
            for (int b = 0; b < corpus.size(); b += BATCH) {
                bodies.add(JSON.writeValueAsString(Map.of("inputs", corpus.subList(b, Math.min(b + BATCH, corpus.size())))));
            }
            overHttp(tandem.port(), "/embed", bodies, CLIENTS); // warm-up
            result.put("tandem_http4", corpus.size() / overHttp(tandem.port(), "/embed", bodies, CLIENTS));
            result.put("tandem_http1", corpus.size() / overHttp(tandem.port(), "/embed", bodies, 1));
            byte[] request = RawHttp.post("/embed", JSON.writeValueAsString(Map.of("inputs", query)));
            try (Socket socket = RawHttp.open(tandem.port())) {
                double[] single = latencies(() -> {
                    try {
                        RawHttp.exchange(socket, request);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                result.put("tandem_single_p50_ms", p50(single));
                result.put("tandem_single_p99_ms", single[single.length * 99 / 100]);
            }
        }
        print(result);
    }

    /**
     * Pairs/s of 4 concurrent callers of the library and of 4 /rerank clients, each call one
     * query against 32 texts; as many calls as take ~5 s (the base-shaped model reads 512-token
     * pairs at ~10 pairs/s on 2 cores, the tiny one thousands).
     */
    private static void rerank(List<String> corpus, String query, Path dir, List<String> flags) throws Exception {
        List<String> rerankFlags = new ArrayList<>(flags);
        rerankFlags.addAll(List.of("--rerank-model", dir.toString()));
        ServerConfig config = Flags.parse(rerankFlags.toArray(String[]::new), Map.of());
        InferenceSettings settings = InferenceSettings.library(config.rerank().inference().maxBatchTokens());
        Map<String, Double> result = new java.util.LinkedHashMap<>();
        List<List<String>> groups;
        try (Reranker reranker = Reranker.open(dir, CPU, settings, InferenceListener.NONE)) {
            List<String> first = corpus.subList(0, BATCH);
            reranker.score(query, first);
            long t0 = System.nanoTime();
            reranker.score(query, first);
            double secondsPerCall = (System.nanoTime() - t0) / 1e9;
            int calls = (int) Math.clamp(5.0 / secondsPerCall, CLIENTS, 800);
            groups = new ArrayList<>();
            for (int i = 0; groups.size() < calls; i = (i + BATCH) % (corpus.size() - BATCH)) {
                groups.add(corpus.subList(i, i + BATCH));
            }
            warmUp(() -> inCallers(groups, g -> reranker.score(query, g)));
            result.put("rerank_library", pairs(groups) / inCallers(groups, g -> reranker.score(query, g)));
        }
        try (Reranker reranker = Reranker.open(dir, CPU.withFullLastLayer(), settings, InferenceListener.NONE)) {
            warmUp(() -> inCallers(groups, g -> reranker.score(query, g)));
            result.put("rerank_library_full_last_layer", pairs(groups) / inCallers(groups, g -> reranker.score(query, g)));
        }
        try (Tandem tandem = Tandem.start(config)) {
            List<String> bodies = new ArrayList<>();
            for (List<String> g : groups) {
                bodies.add(JSON.writeValueAsString(Map.of("query", query, "texts", g)));
            }
            warmUp(() -> overHttp(tandem.port(), "/rerank", bodies, CLIENTS));
            result.put("rerank_http4", pairs(groups) / overHttp(tandem.port(), "/rerank", bodies, CLIENTS));
        }
        System.out.printf("reranker %s: %d calls of %d pairs%n", dir.getFileName(), groups.size(), BATCH);
        print(result);
    }

    /** Reranker calls are mostly Java for the tiny model: passes until the JIT has had 5 s. */
    private static void warmUp(java.util.concurrent.Callable<Double> pass) throws Exception {
        double seconds = 0;
        while (seconds < 5) {
            seconds += pass.call();
        }
    }

    private static double pairs(List<List<String>> groups) {
        return groups.stream().mapToInt(List::size).sum();
    }

    private static void print(Map<String, Double> result) {
        StringBuilder line = new StringBuilder("RESULT");
        result.forEach((k, v) -> line.append(String.format(Locale.ROOT, k.contains("cosine") ? " %s=%.6f" : " %s=%.3f", k, v)));
        System.out.println(line);
    }

    /** Items per second of one timed run. */
    private static double rate(int items, Runnable run) {
        long t0 = System.nanoTime();
        run.run();
        return items / ((System.nanoTime() - t0) / 1e9);
    }

    /** One client of {@link #inTurn}: it takes the items {@code first}, {@code first + clients}, ... */
    private interface Client {
        void take(int first, int clients) throws Exception;
    }

    /** Seconds for {@code clients} concurrent clients to take their turns. */
    private static double inTurn(int clients, Client client) throws Exception {
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int first = c;
                running.add(pool.submit(() -> {
                    client.take(first, clients);
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds for {@code CLIENTS} callers of the library to take the groups in turn. */
    private static <T> double inCallers(List<T> work, java.util.function.Consumer<T> call) throws Exception {
        return inTurn(CLIENTS, (first, clients) -> {
            for (int i = first; i < work.size(); i += clients) {
                call.accept(work.get(i));
            }
        });
    }

    /**
     * Seconds for {@code clients} keep-alive clients to post the bodies in turn, each on its own
     * socket through {@link RawHttp}: the load generator shares the 2 cores with the server, and
     * the JDK's HttpClient spends ~2 ms of them on each request (the tiny reranker's /rerank
     * measured 69% of the library through it).
     */
    private static double overHttp(int port, String path, List<String> bodies, int clients) throws Exception {
        List<byte[]> requests = bodies.stream().map(b -> RawHttp.post(path, b)).toList();
        return inTurn(clients, (first, all) -> {
            try (Socket socket = RawHttp.open(port)) {
                for (int b = first; b < requests.size(); b += all) {
                    RawHttp.exchange(socket, requests.get(b));
                }
            }
        });
    }

    /** Milliseconds per call, after the warm-up, sorted. */
    private static double[] latencies(Runnable call) {
        for (int i = 0; i < WARM_UP_CALLS; i++) {
            call.run();
        }
        double[] ms = new double[300];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            call.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    private static double p50(double[] sorted) {
        return sorted[sorted.length / 2];
    }

    private static double lowestCosine(float[][] anchor, float[][] vectors) {
        double lowest = 1;
        for (int i = 0; i < anchor.length; i++) {
            lowest = Math.min(lowest, VectorMath.cosine(anchor[i], vectors[i]));
        }
        return lowest;
    }

    private static float[][] readVectors(Path file) throws Exception {
        try (DataInputStream in = new DataInputStream(new FileInputStream(file.toFile()))) {
            float[][] out = new float[in.readInt()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = new float[in.readInt()];
                for (int d = 0; d < out[i].length; d++) {
                    out[i][d] = in.readFloat();
                }
            }
            return out;
        }
    }
}
