package io.tandem.server.http;

import static io.tandem.server.http.TestServer.json;
import static io.tandem.server.http.TestServer.metric;
import static io.tandem.server.http.TestServer.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TEI's error table on the default server: status, error_type and exact message. Framework
 * rejections (415, 400, 422 shape, 404) are answered in TEI's JSON error body, which TEI itself
 * does not do (it sends plain text or nothing); that is Tandem's deliberate choice.
 */
class ErrorsTest {

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

    static String tei(String message, String type) {
        return "{\"error\":" + json(message) + ",\"error_type\":\"" + type + "\"}";
    }

    static String openAi(String message, int code, String type) {
        return "{\"message\":" + json(message) + ",\"code\":" + code + ",\"type\":\"" + type + "\"}";
    }

    static List<String> times(int n, String s) {
        return Collections.nCopies(n, s);
    }

    // ---- 400 Empty ----

    @Test
    void emptyInputsAre400Empty() {
        String prefixed = tei("Input validation error: `inputs` cannot be empty", "Empty");
        server.post("/embed", "{\"inputs\":\"\"}").expect(400, prefixed);
        server.post("/embed", "{\"inputs\":[]}").expect(400, prefixed); // [] is one empty id list
        server.post("/embed", "{\"inputs\":[\"a\",\"\"]}").expect(400, prefixed);
        server.post("/embed_all", "{\"inputs\":\"\"}").expect(400, prefixed);
        server.post("/", "{\"inputs\":\"\"}").expect(400, prefixed);
        server.post("/tokenize", "{\"inputs\":\"\"}").expect(400, prefixed);
        server.post("/tokenize", "{\"inputs\":[]}").expect(400, tei("`inputs` cannot be empty", "Empty"));
        server.post("/rerank", "{\"query\":\"q\",\"texts\":[]}").expect(400,
                "{\"error\":\"`texts` cannot be empty\",\"error_type\":\"Empty\"}");
        server.post("/similarity", "{\"inputs\":{\"source_sentence\":\"q\",\"sentences\":[]}}").expect(400,
                tei("`inputs.sentences` cannot be empty", "Empty"));
        server.post("/decode", "{\"ids\":[]}").expect(400, tei("Input validation error: `input_ids` cannot be empty", "Empty"));
        server.post("/decode", "{\"ids\":[[101],[]]}").expect(400,
                tei("Input validation error: `input_ids` cannot be empty", "Empty"));
        server.post("/v1/embeddings", "{\"input\":\"\"}").expect(400,
                openAi("Input validation error: `inputs` cannot be empty", 400, "Empty"));
    }

    // ---- 422 Validation ----

    @Test
    void tooLargeBatchesAre422WithTeiMessage() {
        String b33 = tei("batch size 33 > maximum allowed batch size 32", "Validation");
        server.post("/embed", json(Map.of("inputs", times(33, "a")))).expect(422, b33);
        server.post("/embed_all", json(Map.of("inputs", times(33, "a")))).expect(422, b33);
        server.post("/tokenize", json(Map.of("inputs", times(33, "a")))).expect(422, b33);
        server.post("/decode", json(Map.of("ids", times(33, "x").stream().map(x -> List.of(101)).toList())))
                .expect(422, b33);
        server.post("/rerank", json(Map.of("query", "q", "texts", times(33, "a")))).expect(422, b33);
        // The source sentence counts: 32 sentences make 33 inputs.
        server.post("/similarity", json(Map.of("inputs", Map.of("source_sentence", "q", "sentences", times(32, "a")))))
                .expect(422, b33);
        server.post("/v1/embeddings", json(Map.of("input", times(40, "a")))).expect(422,
                openAi("batch size 40 > maximum allowed batch size 32", 422, "Validation"));
        // 32 is allowed.
        assertEquals(32, server.post("/embed", json(Map.of("inputs", times(32, "a")))).expect(200).json().size());
    }

    @Test
    void overLongInputWithoutTruncationIs422WithTheTokenCount() {
        String text = "测".repeat(600);
        int tokens = server.post("/tokenize", json(Map.of("inputs", text))).expect(200).json().get(0).size();
        assertEquals(602, tokens);
        String body = tei("Input validation error: `inputs` must have less than 512 tokens. Given: " + tokens, "Validation");
        server.post("/embed", json(Map.of("inputs", text, "truncate", false))).expect(422, body);
        server.post("/embed_all", json(Map.of("inputs", text, "truncate", false))).expect(422, body);
        server.post("/rerank", json(Map.of("query", "q", "texts", List.of("ok", text), "truncate", false)))
                .expect(422, body);
        // Truncation (the server default, also as an explicit null) accepts it.
        server.post("/embed", json(Map.of("inputs", text))).expect(200);
        server.post("/embed", "{\"inputs\":\"" + text + "\",\"truncate\":null}").expect(200);
        // Exactly max_input_length tokens is accepted despite "less than".
        server.post("/embed", json(Map.of("inputs", "测".repeat(510), "truncate", false))).expect(200);
    }

    @Test
    void characterGuardCountsUnicodeScalars() {
        // limit = max_input_length × 250 = 128000 characters.
        server.post("/embed", json(Map.of("inputs", "a".repeat(128_001), "truncate", false))).expect(422,
                tei("Input validation error: `inputs` must have less than 128000 characters. Given: 128001", "Validation"));
        // Outside the BMP: one character, two UTF-16 units, four UTF-8 bytes.
        server.post("/embed", json(Map.of("inputs", "😀".repeat(128_001), "truncate", false))).expect(422,
                tei("Input validation error: `inputs` must have less than 128000 characters. Given: 128001", "Validation"));
        server.post("/tokenize", json(Map.of("inputs", "a".repeat(128_001)))).expect(422,
                tei("Input validation error: `inputs` must have less than 128000 characters. Given: 128001", "Validation"));
        // At the limit it passes the guard (and is then truncated to 512 tokens by default).
        server.post("/embed", json(Map.of("inputs", "a ".repeat(64_000)))).expect(200);
    }

    @Test
    void dimensionsOutOfRangeAre422() {
        server.post("/embed", "{\"inputs\":\"a\",\"dimensions\":0}").expect(422,
                tei("Input validation error: `dimensions` should be positive", "Validation"));
        server.post("/embed", "{\"inputs\":\"a\",\"dimensions\":513}").expect(422,
                tei("Input validation error: `dimensions` should be smaller than the maximum embedding dimension.",
                        "Validation"));
        server.post("/v1/embeddings", "{\"input\":\"a\",\"dimensions\":0}").expect(422,
                openAi("Input validation error: `dimensions` should be positive", 422, "Validation"));
        server.post("/v1/embeddings", "{\"input\":\"a\",\"dimensions\":513}").expect(422, openAi(
                "Input validation error: `dimensions` should be smaller than the maximum embedding dimension.", 422,
                "Validation"));
    }

    @Test
    void unknownPromptNameIs422() {
        // bge-small-zh-v1.5 has no sentence-transformers prompts; TEI's message names the flag.
        String body = tei("Input validation error: `default-prompt-name` is set to `query` but no prompts were found "
                + "in the Sentence Transformers configuration", "Validation");
        server.post("/embed", "{\"inputs\":\"a\",\"prompt_name\":\"query\"}").expect(422, body);
        server.post("/tokenize", "{\"inputs\":\"a\",\"prompt_name\":\"query\"}").expect(422, body);
    }

    // ---- 422 Tokenizer, 424 Backend ----

    @Test
    void decodingAnOutOfRangeIdIsATokenizerError() {
        TestServer.Resp r = server.post("/decode", "{\"ids\":[999999999]}").expect(422);
        JsonNode body = r.json();
        assertEquals(List.of("error", "error_type"), TestServer.fieldNames(body));
        assertEquals("Tokenizer", body.get("error_type").asText());
        assertTrue(body.get("error").asText().startsWith("tokenizer error "), body.get("error").asText());
        assertTrue(body.get("error").asText().contains("999999999"), body.get("error").asText());
    }

    @Test
    void wrongModelTypeIs424Backend() {
        server.post("/embed_sparse", "{\"inputs\":\"a\"}").expect(424, tei(
                "Backend error: Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling", "Backend"));
        server.post("/predict", "{\"inputs\":\"a\"}").expect(424,
                tei("Backend error: Model is not a classifier model", "Backend"));
        server.post("/predict", "{\"inputs\":[[\"q\",\"d\"],[\"q\",\"e\"]]}").expect(424,
                tei("Backend error: Model is not a classifier model", "Backend"));
    }

    // ---- framework rejections ----

    @Test
    void wrongContentTypeIs415() {
        String body = tei("Expected request with `Content-Type: application/json`", "Validation");
        server.send(server.port(), "POST", "/embed", "{\"inputs\":\"a\"}").expect(415, body);
        server.send(server.port(), "POST", "/embed", "{\"inputs\":\"a\"}", "Content-Type", "text/plain").expect(415, body);
        server.send(server.port(), "POST", "/v1/embeddings", "{\"input\":\"a\"}", "Content-Type", "text/plain")
                .expect(415, openAi("Expected request with `Content-Type: application/json`", 415, "Validation"));
        // Parameters and +json suffixes are JSON.
        server.send(server.port(), "POST", "/embed", "{\"inputs\":\"a\"}", "Content-Type", "application/json; charset=utf-8")
                .expect(200);
        server.send(server.port(), "POST", "/embed", "{\"inputs\":\"a\"}", "Content-Type", "application/vnd.api+json")
                .expect(200);
    }

    @Test
    void brokenJsonIs400() {
        JsonNode body = server.post("/embed", "{\"inputs\":").expect(400).json();
        assertEquals("Validation", body.get("error_type").asText());
        assertTrue(body.get("error").asText().startsWith("Failed to parse the request body as JSON: "),
                body.get("error").asText());
        server.post("/embed", "").expect(400,
                tei("Failed to parse the request body as JSON: EOF while parsing a value", "Validation"));
        JsonNode openAi = server.post("/v1/embeddings", "{\"input\"").expect(400).json();
        assertEquals(List.of("message", "code", "type"), TestServer.fieldNames(openAi));
        assertEquals(400, openAi.get("code").asInt());
    }

    @Test
    void wrongShapeIs422() {
        String prefix = "Failed to deserialize the JSON body into the target type: ";
        server.post("/embed", "{\"inputs\":5}").expect(422,
                tei(prefix + "inputs: data did not match any variant of untagged enum Input", "Validation"));
        server.post("/embed", "{}").expect(422, tei(prefix + "missing field `inputs`", "Validation"));
        server.post("/embed", "{\"inputs\":[\"a\",5]}").expect(422,
                tei(prefix + "inputs: data did not match any variant of untagged enum Input", "Validation"));
        server.post("/embed", "{\"inputs\":\"a\",\"normalize\":null}").expect(422);
        server.post("/embed", "{\"inputs\":\"a\",\"truncation_direction\":\"up\"}").expect(422);
        server.post("/rerank", "{\"query\":\"q\",\"texts\":\"a\"}").expect(422);
        server.post("/similarity", "{\"inputs\":\"a\"}").expect(422);
        server.post("/v1/embeddings", "{\"input\":\"a\",\"encoding_format\":\"hex\"}").expect(422);
        // Accepted spellings and unknown fields.
        server.post("/embed", "{\"inputs\":\"a\",\"truncation_direction\":\"left\",\"unknown\":1}").expect(200);
        server.post("/embed", "{\"inputs\":\"a\",\"truncation_direction\":\"Right\"}").expect(200);
    }

    @Test
    void unknownPathIs404() {
        String body = tei("Endpoint not found", "Validation");
        server.get("/nope").expect(404, body);
        server.post("/v3/rerank", "{\"query\":\"q\",\"texts\":[\"a\"]}").expect(404, body); // v1, v2: Cohere's
    }

    @Test
    void wrongMethodIs405WithAllow() {
        TestServer.Resp r = server.get("/embed").expect(405);
        assertEquals("POST", r.header("allow").orElseThrow());
        assertEquals("", r.body());
        r = server.send(server.port(), "DELETE", "/info", null).expect(405);
        assertEquals("GET,HEAD", r.header("allow").orElseThrow());
        r = server.send(server.port(), "PUT", "/", "x").expect(405);
        assertEquals("GET,HEAD,POST", r.header("allow").orElseThrow());
        r = server.send(server.port(), "PATCH", "/models/embed/rerank", "x").expect(405);
        assertEquals("POST", r.header("allow").orElseThrow());
        // HEAD works wherever GET does.
        server.send(server.port(), "HEAD", "/health", null).expect(200);
        server.send(server.port(), "HEAD", "/info", null).expect(200);
    }

    @Test
    void errorsCarryNoComputeHeaders() {
        for (TestServer.Resp r : List.of(
                server.post("/embed", "{\"inputs\":\"\"}").expect(400),
                server.post("/embed", json(Map.of("inputs", times(33, "a")))).expect(422),
                server.post("/embed_sparse", "{\"inputs\":\"a\"}").expect(424),
                server.post("/embed", "{\"inputs\":\"a\",\"dimensions\":513}").expect(422))) {
            for (String h : List.of("x-compute-type", "x-compute-time", "x-compute-characters", "x-compute-tokens",
                    "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time")) {
                assertFalse(r.header(h).isPresent(), h + " on " + r.status());
            }
            assertEquals("application/json", r.header("content-type").orElseThrow());
        }
    }

    @Test
    void failuresAreCountedByKind() {
        String before = server.get("/metrics").body();
        server.post("/embed", json(Map.of("inputs", times(33, "a")))).expect(422);
        server.post("/embed_sparse", "{\"inputs\":\"a\"}").expect(424);
        server.post("/embed", "{\"inputs\":\"a\",\"truncate\":false,\"dimensions\":0}").expect(422);
        String after = server.get("/metrics").body();
        for (String err : List.of("batch_size", "model_type", "validation")) {
            String s = series("te_request_failure", "err", err);
            assertEquals(1.0, metric(after, s) - metric(before, s), s);
        }
        String ok = series("te_request_success", "method", "single");
        assertEquals(0.0, metric(after, ok) - metric(before, ok), ok);
    }
}
