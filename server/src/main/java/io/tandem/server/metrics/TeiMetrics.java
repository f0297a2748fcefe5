package io.tandem.server.metrics;

import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.Timings;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * TEI's {@code te_*} metrics for one served model, with TEI's names, labels and buckets, so
 * existing TEI dashboards keep working. Every series carries {@code model="<name>"} as its first
 * label; that is what lets two models share one registry and still be served apart.
 *
 * <p>All series are registered up front, so every name renders from the first scrape on (TEI
 * shows nothing until the first request; nobody relies on that).
 */
public final class TeiMetrics implements InferenceListener {
    /** The {@code err} label of inputs dropped because their request had gone. */
    private static final String DROPPED = "dropped";

    private static final String MODEL = "model";

    private final Counter requestSingle;
    private final Counter requestBatch;
    private final Counter successSingle;
    private final Counter successBatch;
    /** By {@code err} label, in the order TEI lists them. */
    private final Map<String, Counter> failures = new LinkedHashMap<>();
    private final Counter embedCount;
    private final Counter embedSuccess;
    private final Counter predictCount;
    private final Counter predictSuccess;
    private final Gauge queueSize;
    private final Gauge gpuMemory;
    private final Stage request;
    private final Stage embed;
    private final Stage predict;
    private final Histogram inputLength;
    private final Histogram batchSize;
    private final Histogram batchTokens;

    private record Stage(Histogram total, Histogram tokenization, Histogram queue, Histogram inference) {
        void observe(Timings t) {
            total.observe(t.total());
            tokenization.observe(t.tokenization());
            queue.observe(t.queue());
            inference.observe(t.inference());
        }
    }

    public TeiMetrics(MetricsRegistry reg, String modelName, int maxInputLength) {
        String m = modelName;

        String rc = "Inference requests received";
        requestSingle = reg.counter("te_request_count", rc, MODEL, m, "method", "single");
        requestBatch = reg.counter("te_request_count", rc, MODEL, m, "method", "batch");
        String rs = "Inference requests that succeeded";
        successSingle = reg.counter("te_request_success", rs, MODEL, m, "method", "single");
        successBatch = reg.counter("te_request_success", rs, MODEL, m, "method", "batch");
        List<String> labels = new ArrayList<>();
        for (InferenceError.Kind kind : InferenceError.Kind.values()) {
            if (kind.failureLabel() != null && !labels.contains(kind.failureLabel())) {
                labels.add(kind.failureLabel());
            }
        }
        labels.add(DROPPED);
        for (String label : labels) {
            failures.put(label, reg.counter("te_request_failure", "Failed requests and dropped inputs, by cause",
                    MODEL, m, "err", label));
        }
        embedCount = reg.counter("te_embed_count", "Inputs sent to embedding", MODEL, m);
        embedSuccess = reg.counter("te_embed_success", "Inputs embedded successfully", MODEL, m);
        predictCount = reg.counter("te_predict_count", "Inputs sent to prediction", MODEL, m);
        predictSuccess = reg.counter("te_predict_success", "Inputs predicted successfully", MODEL, m);

        queueSize = reg.gauge("te_queue_size", "Entries waiting in the batching queue", MODEL, m);
        gpuMemory = reg.gauge("tandem_gpu_memory_bytes", "GPU memory held by this model's session", MODEL, m);

        double[] d = durationBuckets();
        request = stage(reg, "te_request", "per HTTP request (means for batches)", d, m);
        embed = stage(reg, "te_embed", "per embedded input", d, m);
        predict = stage(reg, "te_predict", "per predicted input", d, m);

        inputLength = reg.histogram("te_request_input_length", "Tokens per input after truncation",
                inputLengthBuckets(maxInputLength), MODEL, m);
        batchSize = reg.histogram("te_batch_next_size", "Entries per formed batch", powersOfTwo(12), MODEL, m);
        batchTokens = reg.histogram("te_batch_next_tokens", "Tokens per formed batch (sum of entry lengths)",
                powersOfTwo(20), MODEL, m);
    }

    private static Stage stage(MetricsRegistry reg, String prefix, String what, double[] d, String m) {
        return new Stage(
                reg.histogram(prefix + "_duration", "Total seconds " + what, d, MODEL, m),
                reg.histogram(prefix + "_tokenization_duration", "Tokenization seconds " + what, d, MODEL, m),
                reg.histogram(prefix + "_queue_duration", "Queue seconds " + what, d, MODEL, m),
                reg.histogram(prefix + "_inference_duration", "Inference seconds " + what, d, MODEL, m));
    }

    @Override
    public void requestStarted(boolean batch) {
        (batch ? requestBatch : requestSingle).inc();
    }

    @Override
    public void requestSucceeded(boolean batch, Timings t) {
        (batch ? successBatch : successSingle).inc();
        request.observe(t);
    }

    @Override
    public void requestFailed(InferenceError.Kind kind) {
        failures.get(kind.failureLabel()).inc();
    }

    @Override
    public void inputStarted(boolean embed) {
        (embed ? embedCount : predictCount).inc();
    }

    @Override
    public void inputSucceeded(boolean embed, int tokens, Timings t) {
        inputLength.observe(tokens);
        (embed ? embedSuccess : predictSuccess).inc();
        (embed ? this.embed : predict).observe(t);
    }

    /** The batch's size and the sum of its rows' lengths, even where the backend pads (as TEI counts it). */
    @Override
    public void batchFormed(List<Integer> rowLengths) {
        batchSize.observe(rowLengths.size());
        batchTokens.observe(rowLengths.stream().mapToInt(Integer::intValue).sum());
    }

    @Override
    public void inputDropped() {
        failures.get(DROPPED).inc();
    }

    public void trackQueueSize(IntSupplier size) {
        queueSize.track(size::getAsInt);
    }

    public void setQueueSize(int size) {
        queueSize.set(size);
    }

    public void setGpuMemoryBytes(long bytes) {
        gpuMemory.set(bytes);
    }

    /**
     * 35 bounds from 1.5e-5 s up by a factor of 1.5, computed by repeated multiplication as TEI
     * does, so the rounding (and hence the rendered {@code le} strings) is the same as TEI's.
     */
    static double[] durationBuckets() {
        double[] b = new double[35];
        double v = 0.00001;
        for (int i = 0; i < b.length; i++) {
            v *= 1.5;
            b[i] = v;
        }
        return b;
    }

    /** TEI: 2^0 .. 2^19, keeping those not above the model's max input length. */
    static double[] inputLengthBuckets(int maxInputLength) {
        int n = 0;
        while (n < 20 && (1L << n) <= maxInputLength) {
            n++;
        }
        return powersOfTwo(n - 1);
    }

    /** 2^0 .. 2^maxExponent; empty when maxExponent is negative. */
    static double[] powersOfTwo(int maxExponent) {
        double[] b = new double[Math.max(0, maxExponent + 1)];
        for (int i = 0; i < b.length; i++) {
            b[i] = 1L << i;
        }
        return b;
    }
}
