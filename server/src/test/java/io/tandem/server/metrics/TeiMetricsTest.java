package io.tandem.server.metrics;

import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.Timings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class TeiMetricsTest {
    private static final List<String> COUNTERS = List.of(
            "te_request_count", "te_request_success", "te_request_failure",
            "te_embed_count", "te_embed_success", "te_predict_count", "te_predict_success");
    private static final List<String> HISTOGRAMS = Stream.of("te_request", "te_embed", "te_predict")
            .flatMap(p -> Stream.of(p + "_duration", p + "_tokenization_duration",
                    p + "_queue_duration", p + "_inference_duration"))
            .toList();

    @Test
    void rendersEveryTeiNameWithTheModelLabel() {
        MetricsRegistry reg = new MetricsRegistry();
        new TeiMetrics(reg, "bge-m3", 8192);
        String out = reg.render();
        for (String c : COUNTERS) {
            assertTrue(out.contains("# TYPE " + c + " counter\n"), c);
            assertFalse(out.contains(c + "_total"), c);
        }
        for (String h : HISTOGRAMS) {
            assertTrue(out.contains("# TYPE " + h + " histogram\n"), h);
            assertTrue(out.contains(h + "_count{model=\"bge-m3\"} 0\n"), h);
        }
        for (String h : List.of("te_request_input_length", "te_batch_next_size", "te_batch_next_tokens")) {
            assertTrue(out.contains("# TYPE " + h + " histogram\n"), h);
        }
        assertTrue(out.contains("# TYPE te_queue_size gauge\nte_queue_size{model=\"bge-m3\"} 0\n"));
        assertTrue(out.contains("tandem_gpu_memory_bytes{model=\"bge-m3\"} 0\n"));
        assertTrue(out.contains("te_request_count{model=\"bge-m3\",method=\"single\"} 0\n"));
        assertTrue(out.contains("te_request_count{model=\"bge-m3\",method=\"batch\"} 0\n"));
        for (String err : List.of("validation", "batch_size", "model_type", "overloaded", "tokenization", "inference", "dropped")) {
            assertTrue(out.contains("te_request_failure{model=\"bge-m3\",err=\"" + err + "\"} 0\n"), err);
        }
        // Every series line starts with the model label.
        out.lines().filter(l -> !l.startsWith("#"))
                .forEach(l -> assertTrue(l.contains("{model=\"bge-m3\""), l));
    }

    @Test
    void bucketBoundsMatchTei() {
        MetricsRegistry reg = new MetricsRegistry();
        new TeiMetrics(reg, "m", 512);
        String out = reg.render();

        double[] d = TeiMetrics.durationBuckets();
        assertEquals(35, d.length);
        assertEquals(1.5e-5, d[0], 1e-18);
        assertEquals(1.5e-5 * Math.pow(1.5, 34), d[34], 1e-9);
        // TEI multiplies 1e-5 by 1.5 repeatedly and writes each bound with Rust's f64 Display, so
        // its le strings carry the rounding noise; matching them keeps le-filtered queries working.
        assertTrue(out.contains("te_embed_duration_bucket{model=\"m\",le=\"0.000015000000000000002\"} 0\n"), out);
        assertTrue(out.contains("te_embed_duration_bucket{model=\"m\",le=\"14.561096060497142\"} 0\n"
                + "te_embed_duration_bucket{model=\"m\",le=\"+Inf\"} 0\n"));

        assertTrue(out.contains("te_batch_next_size_bucket{model=\"m\",le=\"4096\"} 0\n"
                + "te_batch_next_size_bucket{model=\"m\",le=\"+Inf\"} 0\n"));
        assertTrue(out.contains("te_batch_next_tokens_bucket{model=\"m\",le=\"1048576\"} 0\n"
                + "te_batch_next_tokens_bucket{model=\"m\",le=\"+Inf\"} 0\n"));
        assertTrue(out.contains("te_request_input_length_bucket{model=\"m\",le=\"1\"} 0\n"));
        assertTrue(out.contains("te_request_input_length_bucket{model=\"m\",le=\"512\"} 0\n"
                + "te_request_input_length_bucket{model=\"m\",le=\"+Inf\"} 0\n"));

        assertEquals(10, TeiMetrics.inputLengthBuckets(1000).length); // 1..512
        assertEquals(20, TeiMetrics.inputLengthBuckets(1 << 30).length); // TEI stops at 2^19
        assertEquals(0, TeiMetrics.inputLengthBuckets(0).length);
        assertEquals(13, TeiMetrics.powersOfTwo(12).length);
    }

    @Test
    void updatesLandOnTheRightSeries() {
        MetricsRegistry reg = new MetricsRegistry();
        TeiMetrics a = new TeiMetrics(reg, "embedder", 512);
        TeiMetrics b = new TeiMetrics(reg, "reranker", 512);
        a.requestStarted(true);
        a.requestStarted(false);
        a.requestSucceeded(true, new Timings(
                Duration.ofMillis(20), Duration.ofMillis(1), Duration.ofMillis(4), Duration.ofMillis(15)));
        a.requestFailed(InferenceError.Kind.OVERLOADED);
        a.inputStarted(true);
        a.inputSucceeded(true, 300, new Timings(Duration.ofMillis(20), Duration.ZERO, Duration.ZERO, Duration.ofMillis(15)));
        a.batchFormed(List.of(300, 200, 200));
        a.trackQueueSize(() -> 5);
        a.setGpuMemoryBytes(1L << 30);
        b.inputStarted(false);

        String onlyA = reg.render(MetricsRegistry.labelEquals("model", "embedder"));
        assertFalse(onlyA.contains("reranker"));
        assertTrue(onlyA.contains("te_request_count{model=\"embedder\",method=\"batch\"} 1\n"));
        assertTrue(onlyA.contains("te_request_count{model=\"embedder\",method=\"single\"} 1\n"));
        assertTrue(onlyA.contains("te_request_success{model=\"embedder\",method=\"batch\"} 1\n"));
        assertTrue(onlyA.contains("te_request_failure{model=\"embedder\",err=\"overloaded\"} 1\n"));
        assertTrue(onlyA.contains("te_request_duration_sum{model=\"embedder\"} 0.02\n"));
        assertTrue(onlyA.contains("te_request_inference_duration_count{model=\"embedder\"} 1\n"));
        assertTrue(onlyA.contains("te_embed_success{model=\"embedder\"} 1\n"));
        assertTrue(onlyA.contains("te_request_input_length_bucket{model=\"embedder\",le=\"256\"} 0\n"));
        assertTrue(onlyA.contains("te_request_input_length_bucket{model=\"embedder\",le=\"512\"} 1\n"));
        assertTrue(onlyA.contains("te_batch_next_size_bucket{model=\"embedder\",le=\"2\"} 0\n"));
        assertTrue(onlyA.contains("te_batch_next_size_bucket{model=\"embedder\",le=\"4\"} 1\n"));
        assertTrue(onlyA.contains("te_batch_next_tokens_sum{model=\"embedder\"} 700\n"));
        assertTrue(onlyA.contains("te_queue_size{model=\"embedder\"} 5\n"));
        assertTrue(onlyA.contains("tandem_gpu_memory_bytes{model=\"embedder\"} 1073741824\n"));

        String onlyB = reg.render(MetricsRegistry.labelEquals("model", "reranker"));
        assertTrue(onlyB.contains("te_predict_count{model=\"reranker\"} 1\n"));
        assertTrue(onlyB.contains("te_request_count{model=\"reranker\",method=\"batch\"} 0\n"));

        // One HELP/TYPE per name even with two models in the registry.
        String all = reg.render();
        assertEquals(1, all.lines().filter(l -> l.equals("# TYPE te_request_count counter")).count());
    }
}
