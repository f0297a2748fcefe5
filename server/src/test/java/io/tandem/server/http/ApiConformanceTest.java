package io.tandem.server.http;

import static io.tandem.server.http.TestServer.MODEL;
import static io.tandem.server.http.TestServer.assertClose;
import static io.tandem.server.http.TestServer.cosine;
import static io.tandem.server.http.TestServer.fieldNames;
import static io.tandem.server.http.TestServer.floats;
import static io.tandem.server.http.TestServer.json;
import static io.tandem.server.http.TestServer.metric;
import static io.tandem.server.http.TestServer.norm;
import static io.tandem.server.http.TestServer.scaled;
import static io.tandem.server.http.TestServer.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every route of the root listener against TEI's shapes and Tandem's real outputs for the
 * built-in bge-small-zh-v1.5 (no reranker loaded: /rerank is the bi-encoder).
 */
class ApiConformanceTest {

    /** "测试文本" is [CLS] 测 试 文 本 [SEP] for this tokenizer. */
    static final String TEXT = "测试文本";
    static final int TEXT_TOKENS = 6;
    static final int DIMS = 512;

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

    // ---- helpers over the live server ----

    static float[] embed(String text, boolean normalize) {
        JsonNode out = server.post("/embed", json(Map.of("inputs", text, "normalize", normalize))).expect(200).json();
        assertEquals(1, out.size());
        return floats(out.get(0));
    }

    static int tokenCount(String text) {
        return server.post("/tokenize", json(Map.of("inputs", text))).expect(200).json().get(0).size();
    }

    // ---- /embed ----

    @Test
    void embedSingleStringIsTwoDimensionalAndUnitNorm() {
        TestServer.Resp r = server.post("/embed", "{\"inputs\":\"" + TEXT + "\"}").expect(200);
        assertEquals("application/json", r.header("content-type").orElseThrow());
        JsonNode out = r.json();
        assertTrue(out.isArray());
        assertEquals(1, out.size());
        assertTrue(out.get(0).isArray());
        assertEquals(DIMS, out.get(0).size());
        assertEquals(1.0, norm(floats(out.get(0))), 1e-5);
    }

    @Test
    void embedBatchKeepsTheOuterListAndInputOrder() {
        JsonNode one = server.post("/embed", "{\"inputs\":[\"" + TEXT + "\"]}").expect(200).json();
        assertEquals(1, one.size());
        JsonNode two = server.post("/embed", json(Map.of("inputs", List.of(TEXT, "今天天气很好")))).expect(200).json();
        assertEquals(2, two.size());
        assertClose(embed(TEXT, true), floats(two.get(0)), 1e-5, "batch item 0");
        assertClose(embed("今天天气很好", true), floats(two.get(1)), 1e-5, "batch item 1");
        assertTrue(cosine(floats(two.get(0)), floats(two.get(1))) < 0.99, "the two inputs must differ");
    }

    @Test
    void tokenIdsAreOneInputAndEmbedLikeTheirText() {
        // [101, 3844, 6407, 3152, 3315, 102] is "测试文本" with its special tokens.
        JsonNode out = server.post("/embed", "{\"inputs\":[101,3844,6407,3152,3315,102]}").expect(200).json();
        assertEquals(1, out.size(), "an id list is one input, not a batch");
        assertClose(embed(TEXT, true), floats(out.get(0)), 1e-6, "ids vs text");
        JsonNode mixed = server.post("/embed", "{\"inputs\":[[101,3844,6407,3152,3315,102],\"" + TEXT + "\"]}")
                .expect(200).json();
        assertEquals(2, mixed.size());
        assertClose(floats(mixed.get(0)), floats(mixed.get(1)), 1e-5, "mixed batch");
    }

    @Test
    void normalizeFalseIsTheRawVectorThatNormalisesToTheDefault() {
        float[] raw = embed(TEXT, false);
        float[] unit = embed(TEXT, true);
        double n = norm(raw);
        assertTrue(Math.abs(n - 1) > 1e-2, "the raw CLS vector is not unit length: " + n);
        float[] expected = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            expected[i] = (float) (raw[i] / n);
        }
        assertClose(expected, unit, 1e-6, "normalize:true vs raw / |raw|");
    }

    @Test
    void dimensionsCutsFirstThenNormalises() {
        float[] raw = embed(TEXT, false);
        JsonNode cut = server.post("/embed", json(Map.of("inputs", TEXT, "dimensions", 64))).expect(200).json();
        float[] v = floats(cut.get(0));
        assertEquals(64, v.length);
        assertEquals(1.0, norm(v), 1e-5);
        assertClose(scaled(raw, 64), v, 1e-6, "first 64 of the raw vector, normalised");

        JsonNode rawCut = server.post("/embed", json(Map.of("inputs", TEXT, "dimensions", 64, "normalize", false)))
                .expect(200).json();
        assertClose(java.util.Arrays.copyOf(raw, 64), floats(rawCut.get(0)), 1e-6, "first 64 of the raw vector");

        JsonNode full = server.post("/embed", json(Map.of("inputs", TEXT, "dimensions", DIMS))).expect(200).json();
        assertClose(embed(TEXT, true), floats(full.get(0)), 1e-6, "dimensions = hidden size");
    }

    @Test
    void batchOfMixedLengthsEqualsEachInputAlone() {
        List<String> inputs = List.of(
                "短",
                "向量检索需要高质量的文本表示，这句话比第一句长很多。",
                "混合 English 与中文的句子，包含 numbers 12345 和标点！".repeat(8),
                "中等长度的文本");
        JsonNode batch = server.post("/embed", json(Map.of("inputs", inputs))).expect(200).json();
        assertEquals(inputs.size(), batch.size());
        for (int i = 0; i < inputs.size(); i++) {
            assertClose(embed(inputs.get(i), true), floats(batch.get(i)), 1e-5, "input " + i + " batched vs alone");
        }
        JsonNode all = server.post("/embed_all", json(Map.of("inputs", inputs))).expect(200).json();
        for (int i = 0; i < inputs.size(); i++) {
            assertEquals(tokenCount(inputs.get(i)), all.get(i).size(), "embed_all rows of input " + i + " (no padding)");
        }
    }

    @Test
    void postRootAndInvocationsAnswerLikeEmbed() {
        float[] expected = embed(TEXT, true);
        for (String path : List.of("/", "/invocations")) {
            JsonNode out = server.post(path, "{\"inputs\":\"" + TEXT + "\"}").expect(200).json();
            assertEquals(1, out.size(), path);
            assertClose(expected, floats(out.get(0)), 1e-6, path);
        }
    }

    // ---- /embed_all, /embed_sparse ----

    @Test
    void embedAllIsThreeDimensionalWithOneRowPerToken() {
        JsonNode out = server.post("/embed_all", "{\"inputs\":\"" + TEXT + "\"}").expect(200).json();
        assertEquals(1, out.size());
        assertEquals(TEXT_TOKENS, out.get(0).size());
        assertEquals(tokenCount(TEXT), out.get(0).size());
        for (JsonNode token : out.get(0)) {
            assertEquals(DIMS, token.size());
        }
        // CLS pooling: the pooled, unnormalised /embed vector is the first token's hidden state.
        assertClose(embed(TEXT, false), floats(out.get(0).get(0)), 1e-5, "embed_all [CLS] row vs /embed raw");

        JsonNode batch = server.post("/embed_all", json(Map.of("inputs", List.of(TEXT, "a")))).expect(200).json();
        assertEquals(2, batch.size());
        assertEquals(TEXT_TOKENS, batch.get(0).size());
        assertEquals(3, batch.get(1).size());
    }

    @Test
    void embedSparseIsABackendErrorForThisDenseModel() {
        server.post("/embed_sparse", "{\"inputs\":\"" + TEXT + "\"}").expect(424,
                "{\"error\":\"Backend error: Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling\","
                        + "\"error_type\":\"Backend\"}");
    }

    // ---- /similarity ----

    @Test
    void similarityIsTheCosineOfTheEmbeddings() {
        String source = "今天天气很好";
        List<String> sentences = List.of("今天天气不错", "我喜欢编程", source);
        JsonNode sims = server.post("/similarity", json(Map.of("inputs",
                Map.of("source_sentence", source, "sentences", sentences)))).expect(200).json();
        assertEquals(3, sims.size());
        float[] s = embed(source, true);
        for (int i = 0; i < sentences.size(); i++) {
            double expected = cosine(s, embed(sentences.get(i), true));
            assertEquals(expected, sims.get(i).asDouble(), 1e-6, "similarity " + i);
        }
        assertEquals(1.0, sims.get(2).asDouble(), 1e-6);
        assertTrue(sims.get(0).asDouble() > sims.get(1).asDouble(), "a paraphrase is closer than an unrelated text");

        JsonNode withParams = server.post("/similarity", json(Map.of(
                "inputs", Map.of("source_sentence", source, "sentences", List.of("今天天气不错")),
                "parameters", Map.of("truncate", true, "truncation_direction", "Left")))).expect(200).json();
        assertEquals(sims.get(0).asDouble(), withParams.get(0).asDouble(), 1e-6);
    }

    // ---- /rerank (bi-encoder) ----

    @Test
    void rerankBiEncoderScoresAreCosinesInDescendingOrder() {
        String query = "测试";
        List<String> texts = List.of("今天天气很好", TEXT, "测试");
        JsonNode ranks = server.post("/rerank", json(Map.of("query", query, "texts", texts))).expect(200).json();
        assertEquals(3, ranks.size());
        float[] q = embed(query, true);
        double previous = Double.POSITIVE_INFINITY;
        List<Integer> seen = new ArrayList<>();
        for (JsonNode rank : ranks) {
            assertEquals(List.of("index", "score"), fieldNames(rank), "no text unless return_text");
            int index = rank.get("index").asInt();
            double score = rank.get("score").asDouble();
            assertEquals(cosine(q, embed(texts.get(index), true)), score, 1e-6, "score of text " + index);
            assertTrue(score <= previous, "descending");
            previous = score;
            seen.add(index);
        }
        assertEquals(List.of(2, 1, 0), seen);
        assertEquals(1.0, ranks.get(0).get("score").asDouble(), 1e-6, "the query itself");
    }

    @Test
    void rerankTiesPutTheHigherIndexFirstAndReturnTextSitsBetweenIndexAndScore() {
        JsonNode ranks = server.post("/rerank",
                "{\"query\":\"test\",\"texts\":[\"test\",\"other\",\"test\"],\"return_text\":true}").expect(200).json();
        assertEquals(3, ranks.size());
        assertEquals(List.of(2, 0, 1), List.of(ranks.get(0).get("index").asInt(), ranks.get(1).get("index").asInt(),
                ranks.get(2).get("index").asInt()));
        for (JsonNode rank : ranks) {
            assertEquals(List.of("index", "text", "score"), fieldNames(rank));
        }
        assertEquals(List.of("test", "test", "other"), List.of(ranks.get(0).get("text").asText(),
                ranks.get(1).get("text").asText(), ranks.get(2).get("text").asText()));
        assertEquals(ranks.get(0).get("score").asDouble(), ranks.get(1).get("score").asDouble(), 0.0, "a tie");
        assertTrue(ranks.get(2).get("score").asDouble() < ranks.get(1).get("score").asDouble());

        JsonNode noText = server.post("/rerank",
                "{\"query\":\"test\",\"texts\":[\"test\",\"other\",\"test\"],\"return_text\":false}").expect(200).json();
        assertEquals(List.of("index", "score"), fieldNames(noText.get(0)));
    }

    @Test
    void rerankTakesMaxClientBatchSizeTexts() {
        // TEI's cap is on the texts; the bi-encoder's extra query embedding must not count.
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            texts.add("文本 " + i);
        }
        JsonNode ranks = server.post("/rerank", json(Map.of("query", "文本", "texts", texts))).expect(200).json();
        assertEquals(32, ranks.size());
    }

    // ---- /predict ----

    @Test
    void predictIsABackendErrorWithoutAClassifier() {
        String body = "{\"error\":\"Backend error: Model is not a classifier model\",\"error_type\":\"Backend\"}";
        server.post("/predict", "{\"inputs\":\"" + TEXT + "\"}").expect(424, body);
        server.post("/predict", "{\"inputs\":[\"q\",\"d\"]}").expect(424, body);
    }

    // ---- /tokenize, /decode ----

    @Test
    void tokenizeGivesTeiTokensWithByteOffsets() {
        server.post("/tokenize", "{\"inputs\":\"" + TEXT + "\"}").expect(200, "[["
                + "{\"id\":101,\"text\":\"[CLS]\",\"special\":true,\"start\":null,\"stop\":null},"
                + "{\"id\":3844,\"text\":\"测\",\"special\":false,\"start\":0,\"stop\":3},"
                + "{\"id\":6407,\"text\":\"试\",\"special\":false,\"start\":3,\"stop\":6},"
                + "{\"id\":3152,\"text\":\"文\",\"special\":false,\"start\":6,\"stop\":9},"
                + "{\"id\":3315,\"text\":\"本\",\"special\":false,\"start\":9,\"stop\":12},"
                + "{\"id\":102,\"text\":\"[SEP]\",\"special\":true,\"start\":null,\"stop\":null}]]");
    }

    @Test
    void tokenizeBatchAndWithoutSpecialTokens() {
        JsonNode out = server.post("/tokenize",
                "{\"inputs\":[\"" + TEXT + "\",\"a测\"],\"add_special_tokens\":false}").expect(200).json();
        assertEquals(2, out.size());
        List<Long> ids = new ArrayList<>();
        out.get(0).forEach(t -> ids.add(t.get("id").asLong()));
        assertEquals(List.of(3844L, 6407L, 3152L, 3315L), ids);
        JsonNode second = out.get(1);
        assertEquals(2, second.size());
        assertEquals("a", second.get(0).get("text").asText());
        assertEquals(0, second.get(0).get("start").asInt());
        assertEquals(1, second.get(0).get("stop").asInt());
        assertEquals("测", second.get(1).get("text").asText());
        assertEquals(1, second.get(1).get("start").asInt(), "offsets are UTF-8 bytes");
        assertEquals(4, second.get(1).get("stop").asInt());
    }

    @Test
    void decodeIsAlwaysAList() {
        server.post("/decode", "{\"ids\":[101,3844,6407,3152,3315,102]}").expect(200, "[\"测 试 文 本\"]");
        server.post("/decode", "{\"ids\":[101,3844,6407,3152,3315,102],\"skip_special_tokens\":false}")
                .expect(200, "[\"[CLS] 测 试 文 本 [SEP]\"]");
        server.post("/decode", "{\"ids\":[[3844,6407],[3152,3315]]}").expect(200, "[\"测 试\",\"文 本\"]");
    }

    // ---- OpenAI ----

    @Test
    void openAiFloatEmbeddings() {
        for (String path : List.of("/v1/embeddings", "/embeddings")) {
            JsonNode out = server.post(path, "{\"input\":\"" + TEXT + "\",\"model\":\"ignored\"}").expect(200).json();
            assertEquals(List.of("object", "data", "model", "usage"), fieldNames(out), path);
            assertEquals("list", out.get("object").asText());
            assertEquals(MODEL, out.get("model").asText(), "the served name, not the request's model");
            assertEquals(1, out.get("data").size());
            JsonNode item = out.get("data").get(0);
            assertEquals(List.of("object", "embedding", "index"), fieldNames(item));
            assertEquals("embedding", item.get("object").asText());
            assertEquals(0, item.get("index").asInt());
            assertClose(embed(TEXT, true), floats(item.get("embedding")), 1e-6, path);
            assertEquals(TestServer.JSON.createObjectNode().put("prompt_tokens", TEXT_TOKENS)
                    .put("total_tokens", TEXT_TOKENS), out.get("usage"));
        }
    }

    @Test
    void openAiBase64IsLittleEndianFloat32OfTheSameVectors() {
        List<String> input = List.of(TEXT, "天气");
        JsonNode floatsOut = server.post("/v1/embeddings", json(Map.of("input", input))).expect(200).json();
        JsonNode b64 = server.post("/v1/embeddings", json(Map.of("input", input, "encoding_format", "base64")))
                .expect(200).json();
        assertEquals(2, b64.get("data").size());
        for (int i = 0; i < 2; i++) {
            JsonNode item = b64.get("data").get(i);
            assertEquals(i, item.get("index").asInt());
            assertTrue(item.get("embedding").isTextual());
            byte[] bytes = Base64.getDecoder().decode(item.get("embedding").asText());
            assertEquals(DIMS * 4, bytes.length);
            ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[DIMS];
            for (int k = 0; k < DIMS; k++) {
                v[k] = buf.getFloat();
            }
            assertClose(floats(floatsOut.get("data").get(i).get("embedding")), v, 1e-6, "base64 item " + i);
        }
        int tokens = tokenCount(TEXT) + tokenCount("天气");
        assertEquals(tokens, b64.get("usage").get("prompt_tokens").asInt());
        assertEquals(tokens, b64.get("usage").get("total_tokens").asInt());
    }

    @Test
    void openAiDimensionsCutsThenNormalises() {
        float[] raw = embed(TEXT, false);
        JsonNode out = server.post("/v1/embeddings", json(Map.of("input", TEXT, "dimensions", 32))).expect(200).json();
        float[] v = floats(out.get("data").get(0).get("embedding"));
        assertEquals(32, v.length);
        assertClose(scaled(raw, 32), v, 1e-6, "OpenAI dimensions");
    }

    // ---- GET routes ----

    @Test
    void infoHasTeiKeysInTeiOrderThenTandemExtras() {
        JsonNode info = server.get("/info").expect(200).json();
        List<String> tei = List.of("model_id", "model_sha", "model_dtype", "served_model_name", "model_type",
                "max_concurrent_requests", "max_input_length", "max_batch_tokens", "max_batch_requests",
                "max_client_batch_size", "auto_truncate", "tokenization_workers", "version", "sha", "docker_label");
        List<String> names = fieldNames(info);
        assertTrue(names.size() > tei.size(), "Tandem adds keys after TEI's");
        assertEquals(tei, names.subList(0, tei.size()));
        assertEquals(MODEL, info.get("model_id").asText());
        assertTrue(info.get("model_sha").isNull());
        assertEquals("float32", info.get("model_dtype").asText());
        assertEquals(MODEL, info.get("served_model_name").asText());
        assertEquals("{\"embedding\":{\"pooling\":\"cls\"}}", info.get("model_type").toString());
        assertEquals(512, info.get("max_concurrent_requests").asInt());
        assertEquals(512, info.get("max_input_length").asInt());
        // TEI's 16384 on a GPU; on the CPU a budget whose batches fit the caches (bench/cpu).
        assertEquals(1024, info.get("max_batch_tokens").asInt());
        assertTrue(info.get("max_batch_requests").isNull());
        assertEquals(32, info.get("max_client_batch_size").asInt());
        assertTrue(info.get("auto_truncate").asBoolean());
        assertTrue(info.get("tokenization_workers").asInt() >= 1);
        assertEquals("1.9.3", info.get("version").asText());
        assertTrue(info.get("sha").isTextual() && !info.get("sha").asText().isEmpty()); // InfoStrictTest: which
        assertEquals("none", info.get("docker_label").asText()); // not run from the image
        assertEquals("cpu", info.get("device").asText());
        assertEquals("bi-encoder", info.get("rerank_mode").asText());
    }

    @Test
    void healthRoutesAnswerEmpty200() {
        for (String path : List.of("/health", "/", "/ping")) {
            server.get(path).expect(200, "");
        }
    }

    @Test
    void metricsCountRequestsPerModelAndMethod() {
        String before = server.get("/metrics").expect(200).body();
        server.post("/embed", "{\"inputs\":\"" + TEXT + "\"}").expect(200);
        server.post("/embed", json(Map.of("inputs", List.of(TEXT, "天气")))).expect(200);
        TestServer.Resp r = server.get("/metrics").expect(200);
        assertTrue(r.header("content-type").orElseThrow().startsWith("text/plain"));
        String after = r.body();
        assertTrue(after.contains("# TYPE te_request_count counter\n"));
        assertTrue(after.contains("# TYPE te_request_duration histogram\n"));
        Map<String, Double> deltas = Map.of(
                series("te_request_count", "method", "single"), 1.0,
                series("te_request_count", "method", "batch"), 1.0,
                series("te_request_success", "method", "single"), 1.0,
                series("te_request_success", "method", "batch"), 1.0,
                series("te_embed_count"), 3.0,
                series("te_embed_success"), 3.0,
                series("te_request_input_length_count"), 3.0,
                series("te_request_input_length_sum"), (double) (TEXT_TOKENS + TEXT_TOKENS + 4),
                series("te_request_duration_count"), 2.0);
        deltas.forEach((s, d) -> assertEquals(d, metric(after, s) - metric(before, s), 0.0, s));
        assertTrue(metric(after, series("te_batch_next_size_count")) > metric(before, series("te_batch_next_size_count")));
    }

    @Test
    void rerankMetricsCountAsEmbedsInBiEncoderMode() {
        String before = server.get("/metrics").expect(200).body();
        server.post("/rerank", "{\"query\":\"q\",\"texts\":[\"a\",\"b\"]}").expect(200);
        String after = server.get("/metrics").expect(200).body();
        assertEquals(1.0, metric(after, series("te_request_count", "method", "batch"))
                - metric(before, series("te_request_count", "method", "batch")));
        // The query and both texts are embedded.
        assertEquals(3.0, metric(after, series("te_embed_count")) - metric(before, series("te_embed_count")));
        assertEquals(3.0, metric(after, series("te_embed_success")) - metric(before, series("te_embed_success")));
        assertEquals(0.0, metric(after, series("te_predict_success")) - metric(before, series("te_predict_success")));
    }

    @Test
    void modelsListsTheEmbedder() {
        JsonNode models = server.get("/models").expect(200).json();
        assertEquals("bi-encoder", models.get("rerank_mode").asText());
        assertEquals(1, models.get("models").size());
        JsonNode m = models.get("models").get(0);
        assertEquals(MODEL, m.get("name").asText());
        assertEquals("embed", m.get("role").asText());
        assertEquals("embedder", m.get("kind").asText());
        assertEquals(DIMS, m.get("dimensions").asInt());
        assertEquals(512, m.get("max_input_length").asInt());
    }

    @Test
    void openApiDocumentIsJson() {
        TestServer.Resp r = server.get("/api-doc/openapi.json").expect(200);
        assertEquals("application/json", r.header("content-type").orElseThrow());
        Assumptions.assumeTrue(!r.body().isEmpty(), "no OpenAPI document bundled yet");
        JsonNode doc = r.json();
        assertTrue(doc.has("openapi"));
        for (String path : List.of("/embed", "/rerank", "/tokenize", "/v1/embeddings", "/info")) {
            assertTrue(doc.get("paths").has(path), path);
        }
    }

    // ---- /models/{name}/… ----

    @Test
    void perModelRoutesServeThatModel() {
        float[] expected = embed(TEXT, true);
        for (String name : List.of("embed", "bge-small-zh-v1.5")) {
            JsonNode out = server.post("/models/" + name + "/embed", "{\"inputs\":\"" + TEXT + "\"}").expect(200).json();
            assertClose(expected, floats(out.get(0)), 1e-6, name);
        }
        JsonNode info = server.get("/models/bge-small-zh-v1.5/info").expect(200).json();
        assertEquals(MODEL, info.get("model_id").asText());
        assertFalse(info.has("models"), "a single model's /info");
        assertEquals(server.post("/tokenize", "{\"inputs\":\"" + TEXT + "\"}").body(),
                server.post("/models/embed/tokenize", "{\"inputs\":\"" + TEXT + "\"}").expect(200).body());
        server.get("/models/embed/health").expect(200, "");
        // One model's surface is a plain TEI: no bi-encoder /rerank there.
        server.post("/models/embed/rerank", "{\"query\":\"a\",\"texts\":[\"b\"]}").expect(424,
                "{\"error\":\"Backend error: model is not a re-ranker model\",\"error_type\":\"Backend\"}");
    }

    @Test
    void unknownModelNameIs404Json() {
        server.post("/models/nope/embed", "{\"inputs\":\"a\"}").expect(404,
                "{\"error\":\"no model named `nope`\",\"error_type\":\"Validation\"}");
        server.get("/models/nope/info").expect(404);
    }
}
