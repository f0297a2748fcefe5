package io.tandem.server.http;

import static io.tandem.server.http.TestServer.json;
import static io.tandem.server.http.TestServer.metric;
import static io.tandem.server.http.TestServer.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** --api-key (401), --max-concurrent-requests (429) and --payload-limit (413) on one server. */
class AuthAndLimitsTest {

    static final String KEY = "s3cret-key";
    static final int PAYLOAD_LIMIT = 4096;
    static final String OVERLOADED = "{\"error\":\"Model is overloaded\",\"error_type\":\"Overloaded\"}";

    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("--api-key", KEY, "--max-concurrent-requests", "1",
                "--payload-limit", Integer.toString(PAYLOAD_LIMIT));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static TestServer.Resp post(String path, String body, String authorization) {
        return authorization == null
                ? server.send(server.port(), "POST", path, body, "Content-Type", "application/json")
                : server.send(server.port(), "POST", path, body, "Content-Type", "application/json",
                        "Authorization", authorization);
    }

    static TestServer.Resp authed(String path, String body) {
        return post(path, body, "Bearer " + KEY);
    }

    // ---- 401 ----

    @Test
    void inferenceRoutesNeedTheBearerKey() {
        for (String auth : new String[] {null, "Bearer wrong", "bearer " + KEY, KEY, "Bearer " + KEY + "x", "Basic " + KEY}) {
            TestServer.Resp r = post("/embed", "{\"inputs\":\"a\"}", auth);
            r.expect(401, "");
            assertFalse(r.header("x-compute-type").isPresent());
        }
        for (String path : List.of("/embed_all", "/rerank", "/similarity", "/tokenize", "/decode", "/v1/embeddings",
                "/embeddings", "/predict", "/", "/invocations", "/models/embed/embed")) {
            post(path, "{}", null).expect(401, "");
        }
        server.get("/info").expect(401, "");
        server.get("/models").expect(401, "");
        server.get("/models/embed/info").expect(401, "");
    }

    @Test
    void theRightKeyIsAccepted() {
        TestServer.Resp r = authed("/embed", "{\"inputs\":\"a\"}").expect(200);
        assertEquals(1, r.json().size());
        server.send(server.port(), "GET", "/info", null, "Authorization", "Bearer " + KEY).expect(200);
        authed("/tokenize", "{\"inputs\":\"a\"}").expect(200);
    }

    @Test
    void healthMetricsAndDocsArePublic() {
        for (String path : List.of("/health", "/", "/ping", "/models/embed/health")) {
            server.get(path).expect(200, "");
        }
        server.get("/metrics").expect(200);
        server.get("/api-doc/openapi.json").expect(200);
        server.send(server.port(), "HEAD", "/health", null).expect(200);
    }

    // ---- 429 ----

    @Test
    void aBatchLargerThanThePermitsRunsInWaves() {
        String before = server.get("/metrics").body();
        // One permit: a batch of two takes it once per input, one after the other.
        authed("/embed", json(Map.of("inputs", List.of("a", "b")))).expect(200);
        authed("/embed_all", json(Map.of("inputs", List.of("a", "b")))).expect(200);
        authed("/v1/embeddings", json(Map.of("input", List.of("a", "b")))).expect(200);
        // The source sentence needs a permit too, and waits for it like the others.
        authed("/similarity", "{\"inputs\":{\"source_sentence\":\"a\",\"sentences\":[\"b\"]}}").expect(200);
        String after = server.get("/metrics").body();
        String s = series("te_request_failure", "err", "overloaded");
        assertEquals(0.0, metric(after, s) - metric(before, s), s);
        // Every permit came back: single inputs still run, repeatedly.
        for (int i = 0; i < 3; i++) {
            authed("/embed", "{\"inputs\":\"a\"}").expect(200);
        }
        authed("/embed", "{\"inputs\":[\"a\"]}").expect(200);
    }

    @Test
    void batchSizeIsCheckedBeforePermits() {
        authed("/embed", json(Map.of("inputs", java.util.Collections.nCopies(33, "a")))).expect(422,
                "{\"error\":\"batch size 33 > maximum allowed batch size 32\",\"error_type\":\"Validation\"}");
    }

    // ---- 413 ----

    @Test
    void bodiesOverThePayloadLimitAre413() {
        String big = json(Map.of("inputs", "a".repeat(PAYLOAD_LIMIT)));
        assertTrue(big.length() > PAYLOAD_LIMIT);
        TestServer.Resp r = authed("/embed", big);
        r.expect(413, "{\"error\":\"Failed to buffer the request body: length limit exceeded\",\"error_type\":\"Validation\"}");
        assertEquals("application/json", r.header("content-type").orElse(null));
        String fits = json(Map.of("inputs", "a ".repeat(PAYLOAD_LIMIT / 2 - 20)));
        assertTrue(fits.length() <= PAYLOAD_LIMIT);
        authed("/embed", fits).expect(200);
    }
}
