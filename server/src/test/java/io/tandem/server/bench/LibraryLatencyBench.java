package io.tandem.server.bench;

import io.tandem.models.ModelOptions;
import io.tandem.models.api.Embedder;
import io.tandem.models.api.Reranker;
import io.tandem.ort.DeviceChoice;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The issue-15 single queries through the Java library (tokenizer, queue, model, heads; no
 * HTTP), so that GpuLoadBench's keep-alive latency splits into the core and the HTTP edge. The
 * texts are GpuLoadBench's: one word per token. Not a test; run with bench/gpu/issue15-graphs.sh.
 *
 * <pre>LibraryLatencyBench EMBED_DIR RERANK_DIR DEVICE SECONDS cuda-graphs|plain</pre>
 */
public final class LibraryLatencyBench {

    private static final int N_WORDS = 250002 - 5;

    public static void main(String[] args) {
        Path embedDir = Path.of(args[0]);
        Path rerankDir = Path.of(args[1]);
        DeviceChoice device = DeviceChoice.parse(args[2]);
        double seconds = Double.parseDouble(args[3]);
        ModelOptions options = new ModelOptions(device, null, null, 0).withCudaGraphs(args[4].equals("cuda-graphs"));
        Random rnd = new Random(5);
        try (Embedder embedder = Embedder.open(embedDir, options)) {
            String query = words(rnd, 14);
            report("library /embed 1×16 (" + args[4] + ")", seconds, () -> embedder.embed(query));
        }
        try (Reranker reranker = Reranker.open(rerankDir, options)) {
            String query = words(rnd, 16);
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                texts.add(words(rnd, 108));
            }
            report("library /rerank 1×20×128 (" + args[4] + ")", seconds, () -> reranker.rerank(query, texts));
        }
    }

    private static void report(String name, double seconds, Runnable call) {
        for (int i = 0; i < 300; i++) {
            call.run();
        }
        List<Long> times = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            call.run();
            times.add(System.nanoTime() - t0);
        }
        long[] sorted = times.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.2f |%n", name, sorted.length,
                sorted[sorted.length / 2] / 1e6, sorted[(int) (sorted.length * 0.9)] / 1e6,
                sorted[(int) (sorted.length * 0.99)] / 1e6);
    }

    private static String words(Random rnd, int n) {
        String[] w = new String[n];
        Arrays.setAll(w, i -> "w" + rnd.nextInt(N_WORDS));
        return String.join(" ", w);
    }
}
