package io.tandem.server.http;

import static io.tandem.server.http.TestServer.MODEL;
import static io.tandem.server.http.TestServer.assertClose;
import static io.tandem.server.http.TestServer.fieldNames;
import static io.tandem.server.http.TestServer.floats;
import static io.tandem.server.http.TestServer.metric;
import static io.tandem.server.http.TestServer.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** --embed-port: the embedder alone on its own listener, answering like a single-model TEI. */
class ExtraPortsTest {

    static TestServer server;
    static int embedPort;

    @BeforeAll
    static void start() {
        server = TestServer.start("--embed-port", "0");
        embedPort = server.port("embed");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void theEmbedPortIsItsOwnListener() {
        assertTrue(embedPort > 0);
        assertNotEquals(server.port(), embedPort);
    }

    @Test
    void embedAnswersLikeTheMainPort() {
        String body = "{\"inputs\":[\"测试文本\",\"天气\"]}";
        JsonNode main = server.post("/embed", body).expect(200).json();
        TestServer.Resp r = server.post(embedPort, "/embed", body).expect(200);
        assertEquals("gpu+optimized", r.header("x-compute-type").orElse(null));
        JsonNode own = r.json();
        assertEquals(2, own.size());
        for (int i = 0; i < 2; i++) {
            assertClose(floats(main.get(i)), floats(own.get(i)), 1e-6, "input " + i);
        }
        JsonNode root = server.post(embedPort, "/", "{\"inputs\":\"测试文本\"}").expect(200).json();
        assertClose(floats(main.get(0)), floats(root.get(0)), 1e-6, "POST /");
        server.post(embedPort, "/tokenize", "{\"inputs\":\"测试文本\"}").expect(200);
        server.post(embedPort, "/v1/embeddings", "{\"input\":\"测试文本\"}").expect(200);
    }

    @Test
    void rerankIsNotOfferedThere() {
        server.post(embedPort, "/rerank", "{\"query\":\"a\",\"texts\":[\"b\"]}").expect(424,
                "{\"error\":\"Backend error: model is not a re-ranker model\",\"error_type\":\"Backend\"}");
        // TEI checks for empty texts before the model type.
        server.post(embedPort, "/rerank", "{\"query\":\"a\",\"texts\":[]}").expect(400,
                "{\"error\":\"`texts` cannot be empty\",\"error_type\":\"Empty\"}");
        server.post(embedPort, "/predict", "{\"inputs\":\"a\"}").expect(424,
                "{\"error\":\"Backend error: Model is not a classifier model\",\"error_type\":\"Backend\"}");
        // The main port, with no reranker loaded, still ranks with the embedder.
        server.post("/rerank", "{\"query\":\"a\",\"texts\":[\"b\"]}").expect(200);
    }

    @Test
    void infoIsTheSingleModelsInfo() {
        JsonNode info = server.get(embedPort, "/info").expect(200).json();
        assertEquals(MODEL, info.get("model_id").asText());
        assertEquals("model_id", fieldNames(info).getFirst());
        assertFalse(info.has("models"));
        assertFalse(info.has("rerank_mode"));
        server.get(embedPort, "/health").expect(200, "");
        server.get(embedPort, "/ping").expect(200, "");
    }

    @Test
    void onlyTheMainPortHasTheMultiModelRoutes() {
        server.get(embedPort, "/models").expect(404);
        server.post(embedPort, "/models/embed/embed", "{\"inputs\":\"a\"}").expect(404);
        server.get("/models").expect(200);
    }

    @Test
    void metricsThereAreThatModelsSeries() {
        String single = series("te_request_count", "method", "single");
        String before = server.get(embedPort, "/metrics").expect(200).body();
        server.post(embedPort, "/embed", "{\"inputs\":\"a\"}").expect(200);
        String after = server.get(embedPort, "/metrics").expect(200).body();
        assertEquals(1.0, metric(after, single) - metric(before, single));
        List<String> samples = after.lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
        assertFalse(samples.isEmpty());
        for (String line : samples) {
            assertTrue(line.contains("{model=\"" + MODEL + "\""), line);
        }
    }
}
