package io.tandem.server.bench;

import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.ClassifierModel;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.DeviceChoice;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;

/**
 * In-process engine throughput: a model's graph fed ready-made token rows through the pipeline
 * (buffers, ORT run, output decoding), no HTTP and no tokenizer, so that a serving number can be
 * split into engine and serving. Not a test; run with bench/gpu/engine.sh.
 *
 * <pre>EngineBench DIR DEVICE SECONDS SHRINK CASE...</pre>
 * SHRINK "always" gives the arena back after every batch (the policy before 2026-11-25), "idle"
 * never does here (the server's policy under load), "graphs" is "idle" with --cuda-graphs (fixed
 * shapes, CUDA graphs replayed), its outputs checked against the model without; "profile=PREFIX"
 * is "idle" with ONNX Runtime's per-node profile written to PREFIX…json, for one CASE, after
 * {@value #WARMUPS} warm-ups exactly {@value #PROFILED_RUNS} runs, the trace's last model runs
 * (bench/gpu/kernel_profile.py reads them; under CUDA_LAUNCH_BLOCKING=1 a CUDA node's time
 * includes its kernels'). A CASE is
 * {@code RxS} (R rows of S tokens) or {@code RxA-B} (R rows whose lengths step evenly from A to
 * B, as torch_baseline.py's mixed cases); rates count real tokens only.
 */
public final class EngineBench {

    static final int WARMUPS = 3;
    static final int PROFILED_RUNS = 10;

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        DeviceChoice device = DeviceChoice.parse(args[1]);
        double seconds = Double.parseDouble(args[2]);
        boolean shrinkAlways = args[3].equals("always");
        boolean graphs = args[3].equals("graphs");
        Path profile = args[3].startsWith("profile=") ? Path.of(args[3].substring("profile=".length())) : null;
        if (profile != null && args.length != 5) {
            throw new IllegalArgumentException("profile= takes one case: the trace's last runs are the case's");
        }
        ModelOptions options = new ModelOptions(device, null, null, 0);
        try (Model model = Model.load(dir.getFileName().toString(), dir, options.withCudaGraphs(graphs).withProfile(profile));
             Model plain = graphs ? Model.load(dir.getFileName().toString(), dir, options) : null) {
            if (shrinkAlways) {
                model.shrinkArenaAbove(0, () -> true);
            }
            for (int i = 4; i < args.length; i++) {
                String[] bs = args[i].split("x");
                int rows = Integer.parseInt(bs[0]);
                String[] span = bs[1].split("-");
                int shortest = Integer.parseInt(span[0]);
                int longest = Integer.parseInt(span[span.length - 1]);
                List<Tokens> batch = rows(rows, shortest, longest,
                        (int) Math.min(model.descriptor().vocabSize(), 250_000), new Random(i));
                long tokens = batch.stream().mapToLong(Tokens::length).sum();
                String check = "";
                for (int w = 0; w < WARMUPS; w++) {
                    float[][] out = run(model, batch);
                    if (plain != null && w == 2) {
                        check = String.format(" (%d graphs; vs without: max diff %.2g, lowest cosine %.6f)",
                                model.boundShapes(), maxDiff(out, run(plain, batch)), lowestCosine(out, run(plain, batch)));
                    }
                }
                int runs = 0;
                long start = System.nanoTime();
                long end = start + (long) (seconds * 1e9);
                while (profile == null ? System.nanoTime() < end || runs < 3 : runs < PROFILED_RUNS) {
                    run(model, batch);
                    runs++;
                }
                double elapsed = (System.nanoTime() - start) / 1e9;
                double perBatch = elapsed / runs;
                System.out.printf("| %s | %s | %s | %d × %s | %.2f | %.0fk tok/s | %.0f seq/s |%n", dir.getFileName(),
                        model.packed() ? "packed" : "padded", args[3] + check, rows, bs[1], perBatch * 1e3,
                        tokens / perBatch / 1e3, rows / perBatch);
            }
        }
    }

    /** Dense vectors or logits, one row per input. */
    private static float[][] run(Model model, List<Tokens> batch) {
        if (model instanceof EmbedderModel embedder) {
            return embedder.embed(batch, EnumSet.of(EmbedOutput.DENSE)).stream().map(e -> e.dense()).toArray(float[][]::new);
        }
        return ((ClassifierModel) model).classify(batch);
    }

    private static double maxDiff(float[][] a, float[][] b) {
        double max = 0;
        for (int r = 0; r < a.length; r++) {
            for (int i = 0; i < a[r].length; i++) {
                max = Math.max(max, Math.abs(a[r][i] - b[r][i]));
            }
        }
        return max;
    }

    private static double lowestCosine(float[][] a, float[][] b) {
        double lowest = 1;
        for (int r = 0; r < a.length; r++) {
            lowest = Math.min(lowest, a[r].length == 1 ? 1 : VectorMath.cosine(a[r], b[r]));
        }
        return lowest;
    }

    /**
     * Rows of random word ids between {@code <s>} (0) and {@code </s>} (2), as XLM-R frames them,
     * with lengths stepping evenly from shortest to longest.
     */
    private static List<Tokens> rows(int rows, int shortest, int longest, int vocab, Random random) {
        List<Tokens> out = new ArrayList<>(rows);
        for (int length : GpuLoadBench.steppedLengths(rows, shortest, longest)) {
            long[] ids = new long[length];
            for (int t = 1; t < length - 1; t++) {
                ids[t] = 4 + random.nextInt(vocab - 8);
            }
            ids[length - 1] = 2;
            out.add(new Tokens(ids, new long[length], false));
        }
        return out;
    }
}
