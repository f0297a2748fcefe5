package io.tandem.server.http;

import static io.tandem.server.http.TestServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** TEI's x-* headers on successful inference responses, their absence elsewhere, and CORS. */
class ResponseHeadersTest {

    static final List<String> TIMES = List.of("x-compute-time", "x-total-time", "x-tokenization-time",
            "x-queue-time", "x-inference-time");
    static final List<String> ALL = List.of("x-compute-type", "x-compute-characters", "x-compute-tokens",
            "x-compute-time", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time");

    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static int tokens(String text) {
        return server.post("/tokenize", json(Map.of("inputs", text))).expect(200).json().get(0).size();
    }

    /** Asserts TEI's success headers; returns nothing, the counts are checked exactly. */
    static void assertComputeHeaders(TestServer.Resp r, long characters, long tokens) {
        r.expect(200);
        assertEquals("gpu+optimized", r.header("x-compute-type").orElse(null));
        assertEquals(Long.toString(characters), r.header("x-compute-characters").orElse(null), "x-compute-characters");
        assertEquals(Long.toString(tokens), r.header("x-compute-tokens").orElse(null), "x-compute-tokens");
        for (String h : TIMES) {
            String v = r.header(h).orElse(null);
            assertTrue(v != null && v.matches("\\d+"), h + " = " + v);
        }
        assertEquals(r.header("x-total-time"), r.header("x-compute-time"), "TEI sets both to the same value");
    }

    static void assertNoComputeHeaders(TestServer.Resp r) {
        for (String h : ALL) {
            assertFalse(r.header(h).isPresent(), h);
        }
    }

    @Test
    void embedHeadersCountCharactersAndTokens() {
        assertComputeHeaders(server.post("/embed", "{\"inputs\":\"测试文本\"}"), 4, 6);
        assertComputeHeaders(server.post("/embed", json(Map.of("inputs", List.of("测试文本", "天气")))), 6,
                tokens("测试文本") + tokens("天气"));
        // Id inputs count their ids as characters.
        assertComputeHeaders(server.post("/embed", "{\"inputs\":[101,3844,102]}"), 3, 3);
        // Characters as sent (before truncation); tokens after truncation.
        assertComputeHeaders(server.post("/embed", json(Map.of("inputs", "测".repeat(600)))), 600, 512);
        // Unicode scalars, not UTF-16 units.
        assertComputeHeaders(server.post("/embed", json(Map.of("inputs", "😀a"))), 2, tokens("😀a"));
    }

    @Test
    void everyInferenceRouteSetsThem() {
        int t = tokens("测试文本");
        assertComputeHeaders(server.post("/embed_all", "{\"inputs\":\"测试文本\"}"), 4, t);
        assertComputeHeaders(server.post("/v1/embeddings", "{\"input\":\"测试文本\"}"), 4, t);
        assertComputeHeaders(server.post("/embeddings", "{\"input\":\"测试文本\"}"), 4, t);
        assertComputeHeaders(server.post("/", "{\"inputs\":\"测试文本\"}"), 4, t);
        assertComputeHeaders(server.post("/invocations", "{\"inputs\":\"测试文本\"}"), 4, t);
        assertComputeHeaders(server.post("/models/embed/embed", "{\"inputs\":\"测试文本\"}"), 4, t);
        // /similarity: the source sentence and the sentences, as one /embed batch.
        assertComputeHeaders(server.post("/similarity",
                "{\"inputs\":{\"source_sentence\":\"测试\",\"sentences\":[\"测试文本\",\"天气\"]}}"),
                2 + 4 + 2, tokens("测试") + t + tokens("天气"));
    }

    @Test
    void rerankCountsTheQueryOncePerText() {
        // TEI: len(query) × len(texts) + Σ len(text). The bi-encoder embeds the query once,
        // so its tokens are the query's plus each text's.
        TestServer.Resp r = server.post("/rerank", "{\"query\":\"测试\",\"texts\":[\"测试文本\",\"天气很好\",\"a\"]}");
        assertComputeHeaders(r, 2 * 3 + 4 + 4 + 1, tokens("测试") + tokens("测试文本") + tokens("天气很好") + tokens("a"));
    }

    @Test
    void nonInferenceRoutesAndErrorsHaveNone() {
        assertNoComputeHeaders(server.post("/tokenize", "{\"inputs\":\"测试文本\"}").expect(200));
        assertNoComputeHeaders(server.post("/decode", "{\"ids\":[101,102]}").expect(200));
        assertNoComputeHeaders(server.get("/info").expect(200));
        assertNoComputeHeaders(server.get("/health").expect(200));
        assertNoComputeHeaders(server.get("/metrics").expect(200));
        assertNoComputeHeaders(server.post("/embed", "{\"inputs\":\"\"}").expect(400));
        assertNoComputeHeaders(server.post("/predict", "{\"inputs\":\"a\"}").expect(424));
        assertNoComputeHeaders(server.post("/rerank", "{\"query\":\"a\",\"texts\":[]}").expect(400));
        assertNoComputeHeaders(server.post("/v1/embeddings", "{\"input\":\"a\",\"dimensions\":0}").expect(422));
    }

    @Test
    void corsHeadersOnEveryResponse() {
        for (TestServer.Resp r : List.of(server.post("/embed", "{\"inputs\":\"a\"}").expect(200),
                server.get("/health").expect(200),
                server.post("/embed", "{\"inputs\":\"\"}").expect(400),
                server.get("/nope").expect(404))) {
            assertEquals("*", r.header("access-control-allow-origin").orElse(null));
            assertEquals("origin, access-control-request-method, access-control-request-headers",
                    r.header("vary").orElse(null));
        }
        TestServer.Resp preflight = server.send(server.port(), "OPTIONS", "/embed", null,
                "Origin", "http://example.com", "Access-Control-Request-Method", "POST",
                "Access-Control-Request-Headers", "content-type").expect(200);
        assertEquals("*", preflight.header("access-control-allow-origin").orElse(null));
        assertEquals("GET,POST", preflight.header("access-control-allow-methods").orElse(null));
        assertEquals("content-type", preflight.header("access-control-allow-headers").orElse(null));
    }
}
