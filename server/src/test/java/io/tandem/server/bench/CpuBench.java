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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Tandem on the CPU against LangChain4j's in-process model (bench/cpu/run.sh runs both, same
 * corpus, same run): the library's throughput, /embed's with 4 and 1 clients of 32-text
 * batches, a single short query's latency on a keep-alive connection, the vectors checked
 * against LangChain4j's, and the reranker's pairs/s in-process and over HTTP.
 * Not a test (speed belongs in benchmarks).
 *
 * <p>Usage: CpuBench CORPUS LC4J_VECTORS ROUNDS QUERY [RERANKER_DIR...] [-- TANDEM_FLAGS...]
 */
public final class CpuBench {

    private static final int BATCH = 32;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelOptions CPU = new ModelOptions(DeviceChoice.CPU, null, null, 0);

    public static void main(String[] args) throws Exception {
        List<String> corpus = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        float[][] anchor = readVectors(Path.of(args[1]));
        int rounds = Integer.parseInt(args[2]);
        String query = args[3];
        List<String> rerankers = new ArrayList<>();
        List<String> flags = new ArrayList<>(List.of("--device", "cpu", "--port", "0"));
        boolean tandemFlags = false;
        for (int i = 4; i < args.length; i++) {
            if (args[i].equals("--")) {
                tandemFlags = true;
            } else if (tandemFlags) {
                flags.add(args[i]);
            } else {
                rerankers.add(args[i]);
            }
        }
        ServerConfig config = Flags.parse(flags.toArray(String[]::new), Map.of());
        InferenceSettings settings = config.embed().inference();

        // The library, with the server's batch settings: as served, then with the whole last layer
        // (the graph as exported) for the before/after of io.tandem.ort.graph.ClsPruning.
        Path builtin = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir());
        InferenceSettings librarySettings = InferenceSettings.library(settings.maxBatchTokens());
        double library;
        double libraryFull;
        double[] librarySingle;
        double[] modelSingle;
        float[][] vectors;
        try (Embedder embedder = Embedder.open(builtin, CPU, librarySettings, InferenceListener.NONE)) {
            vectors = embedder.embed(corpus).toArray(float[][]::new);
            library = best(rounds, corpus.size(), () -> embedder.embed(corpus));
            librarySingle = latencies(() -> embedder.embed(query), 300);
        }
        try (Embedder embedder = Embedder.open(builtin, CPU.withFullLastLayer(), librarySettings, InferenceListener.NONE)) {
            libraryFull = best(rounds, corpus.size(), () -> embedder.embed(corpus));
        }
        // The graph alone: one session run of the tokenized query, no queue, on this thread.
        try (EmbedderModel model = (EmbedderModel) Model.load("bge-small-zh", builtin, CPU)) {
            List<Tokens> one = List.of(model.tokenizer().encode(query, Truncation.RIGHT));
            modelSingle = latencies(() -> model.embed(one, EnumSet.of(EmbedOutput.DENSE)), 300);
        }
        double lowest = 1;
        for (int i = 0; i < corpus.size(); i++) {
            lowest = Math.min(lowest, VectorMath.cosine(anchor[i], vectors[i]));
        }

        double http4;
        double http1;
        double[] single;
        try (Tandem tandem = Tandem.start(config)) {
            URI embed = URI.create("http://127.0.0.1:" + tandem.port() + "/embed");
            List<String> bodies = new ArrayList<>();
            for (int b = 0; b < corpus.size(); b += BATCH) {
                bodies.add(JSON.writeValueAsString(Map.of("inputs", corpus.subList(b, Math.min(b + BATCH, corpus.size())))));
            }
            http4 = overHttp(embed, bodies, 4, rounds, corpus.size());
            http1 = overHttp(embed, bodies, 1, rounds, corpus.size());
            byte[] request = RawHttp.post("/embed", JSON.writeValueAsString(Map.of("inputs", query)));
            try (Socket socket = RawHttp.open(tandem.port())) {
                single = latencies(() -> {
                    try {
                        RawHttp.exchange(socket, request);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, 300);
            }
        }

        System.out.printf("%nTandem on the CPU (%d cores), bge-small-zh-v1.5, %d texts, flags %s%n",
                Runtime.getRuntime().availableProcessors(), corpus.size(), flags.subList(4, flags.size()));
        System.out.printf("library embed(list): %.1f texts/s (whole last layer: %.1f)%n", library, libraryFull);
        System.out.printf("HTTP /embed, 4 clients x %d: %.1f texts/s%n", BATCH, http4);
        System.out.printf("HTTP /embed, 1 client x %d: %.1f texts/s%n", BATCH, http1);
        System.out.printf("single query over keep-alive: p50 %.2f ms, p99 %.2f ms%n", single[single.length / 2],
                single[single.length * 99 / 100]);
        System.out.printf("single query, library embed(text): p50 %.2f ms; the model alone: p50 %.2f ms%n",
                librarySingle[librarySingle.length / 2], modelSingle[modelSingle.length / 2]);
        System.out.printf("lowest cosine against LangChain4j: %.6f%n", lowest);
        System.out.printf("RESULT tandem_library=%.2f tandem_library_full_last_layer=%.2f tandem_http4=%.2f"
                + " tandem_http1=%.2f tandem_single_p50_ms=%.3f tandem_single_p99_ms=%.3f library_single_p50_ms=%.3f"
                + " model_single_p50_ms=%.3f lowest_cosine=%.6f%n", library, libraryFull, http4, http1,
                single[single.length / 2], single[single.length * 99 / 100], librarySingle[librarySingle.length / 2],
                modelSingle[modelSingle.length / 2], lowest);

        for (String dir : rerankers) {
            rerank(Path.of(dir), corpus, query, rounds, flags);
        }
    }

    /** Pairs/s of one query against 32 texts at a time: the library, then /rerank with 4 clients. */
    private static void rerank(Path dir, List<String> corpus, String query, int rounds, List<String> flags)
            throws Exception {
        List<List<String>> groups = new ArrayList<>();
        for (int b = 0; b < corpus.size(); b += BATCH) {
            groups.add(corpus.subList(b, Math.min(b + BATCH, corpus.size())));
        }
        List<String> rerankFlags = new ArrayList<>(flags);
        rerankFlags.addAll(List.of("--rerank-model", dir.toString()));
        ServerConfig config = Flags.parse(rerankFlags.toArray(String[]::new), Map.of());
        InferenceSettings librarySettings = InferenceSettings.library(config.rerank().inference().maxBatchTokens());
        double library = rerankLibrary(dir, CPU, librarySettings, groups, query, rounds, corpus.size());
        double libraryFull = rerankLibrary(dir, CPU.withFullLastLayer(), librarySettings, groups, query, rounds,
                corpus.size());
        double http;
        try (Tandem tandem = Tandem.start(config)) {
            URI uri = URI.create("http://127.0.0.1:" + tandem.port() + "/rerank");
            List<String> bodies = new ArrayList<>();
            for (List<String> g : groups) {
                bodies.add(JSON.writeValueAsString(Map.of("query", query, "texts", g)));
            }
            http = overHttp(uri, bodies, 4, rounds, corpus.size());
        }
        System.out.printf("reranker %s: library %.1f pairs/s (whole last layer: %.1f), HTTP /rerank 4 clients %.1f"
                + " pairs/s (%.0f%%)%n", dir.getFileName(), library, libraryFull, http, 100 * http / library);
        System.out.printf("RESULT reranker=%s rerank_library=%.2f rerank_library_full_last_layer=%.2f rerank_http4=%.2f%n",
                dir.getFileName(), library, libraryFull, http);
    }

    /** Pairs/s of the library, 12 calls of 32 pairs at once. */
    private static double rerankLibrary(Path dir, ModelOptions options, InferenceSettings settings,
                                        List<List<String>> groups, String query, int rounds, int pairs) {
        try (Reranker reranker = Reranker.open(dir, options, settings, InferenceListener.NONE)) {
            groups.forEach(g -> reranker.score(query, g));
            return best(rounds, pairs, () -> {
                try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                    groups.forEach(g -> pool.submit(() -> reranker.score(query, g)));
                }
            });
        }
    }

    /** Items per second of the best of {@code rounds} timed runs, after one warm-up run. */
    private static double best(int rounds, int items, Runnable run) {
        run.run();
        double best = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            run.run();
            best = Math.max(best, items / ((System.nanoTime() - t0) / 1e9));
        }
        return best;
    }

    /** The whole corpus, {@code clients} keep-alive clients taking its batches in turn; best round. */
    private static double overHttp(URI uri, List<String> bodies, int clients, int rounds, int items) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Supplier<Double> round = () -> {
            long t0 = System.nanoTime();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> running = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    int first = c;
                    running.add(pool.submit(() -> {
                        for (int b = first; b < bodies.size(); b += clients) {
                            post(client, uri, bodies.get(b));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : running) {
                    f.get();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return items / ((System.nanoTime() - t0) / 1e9);
        };
        round.get();
        double best = 0;
        for (int r = 0; r < rounds; r++) {
            best = Math.max(best, round.get());
        }
        return best;
    }

    /** Milliseconds per call, after 30 calls of warm-up, sorted. */
    private static double[] latencies(Runnable call, int n) {
        for (int i = 0; i < 30; i++) {
            call.run();
        }
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            call.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    private static void post(HttpClient client, URI uri, String body) throws Exception {
        HttpResponse<String> res = client.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException("status " + res.statusCode() + ": " + res.body());
        }
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
