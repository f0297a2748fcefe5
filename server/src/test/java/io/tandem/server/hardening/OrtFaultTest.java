package io.tandem.server.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real ONNX Runtime failure inside the graph: the m3-tiny copy claims a vocabulary of 5000
 * while its embedding table has 1361 rows, so ids 1361..4999 pass Tandem's range check and make
 * ORT's Gather fail. That request gets 424 Backend; the next batch runs; the reranker (its own
 * queue and session) never notices.
 */
class OrtFaultTest {

    @TempDir
    static Path temp;

    private static Tandem tandem;
    private static HttpClient client;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        Path model = Hardening.copyFixture(Hardening.M3_TINY, temp.resolve("m3-wrong-vocab"));
        ObjectNode config = (ObjectNode) Hardening.JSON.readTree(model.resolve("config.json").toFile());
        assertEquals(1361, config.get("vocab_size").asInt());
        config.put("vocab_size", 5000);
        Hardening.JSON.writeValue(model.resolve("config.json").toFile(), config);
        tandem = Tandem.start(io.tandem.server.config.Flags.parse(new String[] {"--device", "cpu", "--port", "0",
            "--hostname", "127.0.0.1", "--embed-model", model.toString(),
            "--rerank-model", Hardening.RERANKER_TINY.toString()}, Map.of()));
        port = tandem.port();
        client = Hardening.client();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    @Test
    void anOrtFailureFailsOnlyThatRequestAndTheNextBatchRuns() throws Exception {
        float[] vector = Hardening.embed(client, port, "known input");
        float[] scores = Hardening.rerank(client, port, "query", List.of("known input", "other"));
        for (String route : List.of("/embed", "/embed_all", "/embed_sparse", "/v1/embeddings")) {
            for (int i = 0; i < 5; i++) {
                String field = route.startsWith("/v1") ? "input" : "inputs";
                Hardening.Reply r = Hardening.postJson(client, port, route, Map.of(field, List.of(0, 1361 + i * 700, 2)));
                Hardening.assertTeiError(r, route.startsWith("/v1"), route);
                assertEquals(424, r.status(), route + ": " + r.text());
                JsonNode body = r.json();
                String message = body.has("error") ? body.get("error").asText() : body.get("message").asText();
                assertEquals("Backend", body.has("error_type") ? body.get("error_type").asText() : body.get("type").asText());
                assertTrue(message.startsWith("Backend error: "), message);
                assertFalse(message.contains(temp.toString()), "no model path in " + message);
                // The next batch runs, and computes exactly what it did before.
                Hardening.assertSameVector(vector, Hardening.embed(client, port, "known input"), "after a failed batch");
            }
        }
        // Also when the bad input hides in a batch: the whole request fails (first error in input order)...
        Hardening.Reply batch = Hardening.postJson(client, port, "/embed",
                Map.of("inputs", List.of("fine", List.of(0, 4000, 2), "also fine")));
        assertEquals(424, batch.status(), batch.text());
        // ...the other model is untouched, and the failing one is healthy again (its probe batch runs).
        Hardening.assertSameVector(scores, Hardening.rerank(client, port, "query", List.of("known input", "other")),
                "rerank scores");
        assertEquals(200, Hardening.get(client, port, "/health").status());
        assertEquals(200, Hardening.get(client, port, "/models/embed/health").status());
        Hardening.assertSameVector(vector, Hardening.embed(client, port, "known input"), "at the end");
        String metrics = Hardening.get(client, port, "/metrics").text();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("te_request_failure") && l.contains("inference")
                && !l.endsWith(" 0")), "inference failures are counted:\n" + metrics);
    }
}
