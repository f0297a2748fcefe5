package io.tandem.server.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.WebServer;
import io.tandem.models.ModelOptions;
import io.tandem.models.infer.BatchQueue;
import io.tandem.models.infer.BatchRunner;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.ItemResult;
import io.tandem.models.infer.QueuedItem;
import io.tandem.models.infer.Tokenization;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.ModelOutput;
import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.DeviceChoice;
import io.tandem.ort.InferenceException;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;
import io.tandem.server.core.ServedModel;
import io.tandem.server.http.Surface;
import io.tandem.server.http.TeiRoutes;
import io.tandem.server.metrics.MetricsRegistry;
import io.tandem.server.metrics.TeiMetrics;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backend that fails: a failed batch fails only its own inputs, the batch thread survives
 * anything a runner throws, and /health says 503 exactly while the model cannot serve (TEI's
 * rule: after a failed batch, a one-token batch must run before the model counts as healthy).
 */
class BackendFailureTest {

    private static final BatchQueue.Budget BUDGET = new BatchQueue.Budget(1000, Integer.MAX_VALUE, false);

    private static Tokens tokens(long... ids) {
        return new Tokens(ids, new long[ids.length], false);
    }

    /** Sums the ids of each row; ids 999 fail the batch with an exception, 998 with an Error. */
    private static BatchRunner.Prepared<Long> sums(List<QueuedItem<Void, Long>> batch) {
        return () -> sumsNow(batch);
    }

    private static List<Long> sumsNow(List<QueuedItem<Void, Long>> batch) {
        List<Long> out = new ArrayList<>();
        for (QueuedItem<Void, Long> item : batch) {
            long sum = 0;
            for (long id : item.tokens().ids()) {
                if (id == 999) {
                    throw new InferenceException("injected failure");
                }
                if (id == 998) {
                    throw new StackOverflowError("injected error");
                }
                sum += id;
            }
            out.add(sum);
        }
        return out;
    }

    @Test
    void aFailedBatchFailsOnlyItsInputsAndTheNextBatchRuns() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch hold = new CountDownLatch(1);
        AtomicInteger batches = new AtomicInteger();
        try (BatchQueue<Void, Long> queue = new BatchQueue<>("q", batch -> () -> {
            if (batches.incrementAndGet() == 1) {
                started.countDown();
                await(hold); // keep the thread busy so the next inputs queue up into one batch
            }
            return sumsNow(batch);
        }, BUDGET, new BatchQueue.Listener() {
        })) {
            CompletableFuture<ItemResult<Long>> first = queue.submit(tokens(1, 2), null);
            await(started);
            // These three wait together and form the second batch, which the bad input fails.
            List<CompletableFuture<ItemResult<Long>>> second = queue.submitAll(
                    List.of(tokens(3), tokens(999), tokens(4)), null);
            CompletableFuture<ItemResult<Long>> good1 = second.get(0);
            CompletableFuture<ItemResult<Long>> bad = second.get(1);
            CompletableFuture<ItemResult<Long>> good2 = second.get(2);
            hold.countDown();
            assertEquals(3L, first.get(10, TimeUnit.SECONDS).value());
            for (CompletableFuture<ItemResult<Long>> f : List.of(good1, bad, good2)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                assertInstanceOf(InferenceException.class, e.getCause());
            }
            assertEquals(7L, queue.submit(tokens(7), null).get(10, TimeUnit.SECONDS).value(), "the next batch runs");
            assertTrue(queue.drain(TimeUnit.SECONDS.toNanos(10)));
        }
    }

    @Test
    void theBatchThreadSurvivesAnError() throws Exception {
        try (BatchQueue<Void, Long> queue = new BatchQueue<>("q", BackendFailureTest::sums, BUDGET,
                new BatchQueue.Listener() {
                })) {
            for (int i = 0; i < 3; i++) {
                CompletableFuture<ItemResult<Long>> bad = queue.submit(tokens(998), null);
                ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
                assertInstanceOf(StackOverflowError.class, e.getCause().getCause());
                // Before the fix the thread died here and this input waited forever.
                assertEquals(5L, queue.submit(tokens(5), null).get(10, TimeUnit.SECONDS).value());
            }
            assertTrue(queue.drain(TimeUnit.SECONDS.toNanos(10)), "nothing left running");
        }
    }

    /**
     * A real server (TEI's routes on Helidon) with the real reranker and an embedder whose backend
     * can be switched to failing: /health is 503 while it fails and 200 once it works again; the
     * reranker never notices.
     */
    @Test
    void healthTellsTheTruthAndTheOtherModelIsUntouched() throws Exception {
        ServerConfig config = Flags.parse(new String[] {"--device", "cpu"}, Map.of());
        MetricsRegistry registry = new MetricsRegistry();
        ModelOptions cpu = new ModelOptions(DeviceChoice.CPU, null, null, 0);
        Model m3 = Model.load("m3-tiny", Hardening.M3_TINY, cpu);
        Model reranker = Model.load("reranker-tiny", Hardening.RERANKER_TINY, cpu);
        AtomicBoolean broken = new AtomicBoolean();
        AtomicInteger failedBatches = new AtomicInteger();
        Tokenization tokenization = new Tokenization(1);
        ServedModel embed = new ServedModel("embed", Inference.builder(m3).settings(config.embed().inference())
                .listener(new TeiMetrics(registry, "m3-tiny", m3.descriptor().maxInputLength()))
                .tokenization(tokenization)
                .wrapRunner(real -> batch -> {
                    BatchRunner.Prepared<ModelOutput> prepared = real.prepare(batch);
                    return () -> {
                        if (broken.get()) {
                            failedBatches.incrementAndGet();
                            prepared.discard();
                            throw new InferenceException("CUDA failure 999: device lost");
                        }
                        return prepared.run();
                    };
                }).start(), config.embed());
        ServedModel rerank = new ServedModel("rerank", Inference.builder(reranker).settings(config.rerank().inference())
                .listener(new TeiMetrics(registry, "reranker-tiny", reranker.descriptor().maxInputLength()))
                .tokenization(tokenization).start(), config.rerank());
        TeiRoutes routes = new TeiRoutes(registry, List.of(embed, rerank), 1, "test");
        WebServer server = WebServer.builder().host("127.0.0.1").port(0).shutdownHook(false)
                .featuresDiscoverServices(false)
                .routing(r -> routes.main(r, new Surface(embed, rerank, false)))
                .build().start();
        try {
            HttpClient client = Hardening.client();
            int port = server.port();
            float[] vector = Hardening.embed(client, port, "known");
            float[] scores = Hardening.rerank(client, port, "q", List.of("a", "b"));
            assertEquals(200, Hardening.get(client, port, "/health").status());

            broken.set(true);
            Hardening.Reply failed = Hardening.postJson(client, port, "/embed", Map.of("inputs", "known"));
            Hardening.assertTeiError(failed, false, "/embed on a failing backend");
            assertEquals(424, failed.status());
            assertEquals("Backend", failed.json().get("error_type").asText());
            assertEquals("Backend error: CUDA failure 999: device lost", failed.json().get("error").asText());
            for (int i = 0; i < 3; i++) {
                for (String path : List.of("/health", "/", "/ping", "/models/embed/health")) {
                    Hardening.Reply health = Hardening.get(client, port, path);
                    assertEquals(503, health.status(), path);
                    JsonNode body = health.json();
                    assertEquals("Unhealthy", body.get("error_type").asText(), path);
                    assertEquals("unhealthy", body.get("error").asText(), path);
                }
            }
            assertTrue(failedBatches.get() >= 13, "each health check ran a probe batch: " + failedBatches.get());
            // The reranker has its own queue and thread: unaffected, and healthy on its own.
            Hardening.assertSameVector(scores, Hardening.rerank(client, port, "q", List.of("a", "b")), "rerank scores");
            assertEquals(200, Hardening.get(client, port, "/models/rerank/health").status());
            assertEquals(200, Hardening.postJson(client, port, "/tokenize", Map.of("inputs", "still tokenizes")).status());

            broken.set(false);
            assertEquals(200, Hardening.get(client, port, "/health").status(), "the probe batch ran: healthy again");
            assertEquals(200, Hardening.get(client, port, "/models/embed/health").status());
            Hardening.assertSameVector(vector, Hardening.embed(client, port, "known"), "embed vector after recovery");
            assertFalse(Hardening.get(client, port, "/metrics").text().isEmpty());
        } finally {
            server.stop();
            embed.close();
            rerank.close();
            tokenization.close();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
