package io.tandem.server.bench;

import io.tandem.models.ModelOptions;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.models.infer.Request;
import io.tandem.models.infer.Timings;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Model;
import io.tandem.ort.DeviceChoice;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The issue-15 single queries through the inference core as the Java library calls it
 * (tokenizer, queue, model, heads; no HTTP), so that GpuLoadBench's keep-alive latency splits
 * into the core and the HTTP edge, and the core's into its own steps (the answers' timings:
 * tokenization, queue, inference). The texts are GpuLoadBench's, one word per token; the reranker's
 * query is measured repeated and as {@value #IN_TURN} requests in turn. Not a test;
 * run with bench/gpu/issue15-graphs.sh.
 *
 * <pre>LibraryLatencyBench EMBED_DIR RERANK_DIR DEVICE SECONDS cuda-graphs|plain</pre>
 * Prints per case: requests, p50 / p90 / p99 ms, then the medians of tokenization, queue and
 * inference ms.
 */
public final class LibraryLatencyBench {

    private static final int N_WORDS = 250002 - 5;
    /**
     * Requests sent in turn in the second rerank case: their 138k distinct words overflow the
     * tokenizer's word cache (10,000 entries, filled once, never evicted), as GpuLoadBench's
     * random words do over HTTP, while one request repeated is tokenized from that cache.
     */
    private static final int IN_TURN = 64;

    public static void main(String[] args) {
        Path embedDir = Path.of(args[0]);
        Path rerankDir = Path.of(args[1]);
        DeviceChoice device = DeviceChoice.parse(args[2]);
        double seconds = Double.parseDouble(args[3]);
        ModelOptions options = new ModelOptions(device, null, null, 0).withCudaGraphs(args[4].equals("cuda-graphs"));
        Random rnd = new Random(5);
        try (Inference embedder = open(embedDir, options)) {
            Request.Embed query = new Request.Embed(Request.Inputs.texts(List.of(words(rnd, 14))),
                    Request.Truncate.DEFAULT, null, EmbedOutput.DENSE, true, null);
            report("library /embed 1×16 (" + args[4] + ")", seconds, () -> embedder.embed(query));
        }
        try (Inference reranker = open(rerankDir, options)) {
            List<Request.Rerank> requests = new ArrayList<>();
            for (int r = 0; r < IN_TURN; r++) {
                String query = words(rnd, 16);
                List<String> texts = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    texts.add(words(rnd, 108));
                }
                requests.add(new Request.Rerank(query, texts, Request.Truncate.DEFAULT, false));
            }
            report("library /rerank 1×20×128, one request (" + args[4] + ")", seconds,
                    () -> reranker.rerank(requests.getFirst()));
            int[] next = {0};
            report("library /rerank 1×20×128, " + IN_TURN + " requests in turn (" + args[4] + ")", seconds,
                    () -> reranker.rerank(requests.get(next[0]++ % IN_TURN)));
        }
    }

    private static Inference open(Path dir, ModelOptions options) {
        return Inference.builder(Model.load(dir.getFileName().toString(), dir, options))
                .settings(InferenceSettings.library()).start();
    }

    private static void report(String name, double seconds, Supplier<Answer<?>> call) {
        for (int i = 0; i < 300; i++) {
            call.get();
        }
        List<Long> times = new ArrayList<>();
        List<Timings> timings = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            Answer<?> answer = call.get();
            times.add(System.nanoTime() - t0);
            timings.add(answer.timings());
        }
        long[] sorted = times.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n", name, sorted.length,
                sorted[sorted.length / 2] / 1e6, sorted[(int) (sorted.length * 0.9)] / 1e6,
                sorted[(int) (sorted.length * 0.99)] / 1e6, median(timings, Timings::tokenization),
                median(timings, Timings::queue), median(timings, Timings::inference));
    }

    private static double median(List<Timings> timings, Function<Timings, Duration> step) {
        long[] nanos = timings.stream().mapToLong(t -> step.apply(t).toNanos()).sorted().toArray();
        return nanos[nanos.length / 2] / 1e6;
    }

    private static String words(Random rnd, int n) {
        String[] w = new String[n];
        Arrays.setAll(w, i -> "w" + rnd.nextInt(N_WORDS));
        return String.join(" ", w);
    }
}
