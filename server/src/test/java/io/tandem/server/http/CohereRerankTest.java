package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * POST /v1/rerank and /v2/rerank (Cohere's and Jina's rerank API) on the tiny reranker: the same
 * ranking as /rerank for the same query and texts, top_n, return_documents, Cohere's error body,
 * under /models/{name} and on the rerank port, with /rerank's auth, limits and metrics.
 */
class CohereRerankTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final String KEY = "secret";
    private static final String QUERY = "what is a panda?";
    private static final List<String> TEXTS = List.of("hi", "The giant panda is a bear species endemic to China.",
            "pandas is a Python library", "a panda", "Paris is in France");
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString(), "--rerank-port", "0",
                "--api-key", KEY, "--rerank-max-client-batch-size", "5");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static TestServer.Resp post(int port, String path, Object body) {
        return server.send(port, "POST", path, TestServer.json(body), "Content-Type", "application/json",
                "Authorization", "Bearer " + KEY);
    }

    /** (index, score) best first, as /rerank ranks the texts. */
    private static List<double[]> teiRanking(int port, String prefix) {
        JsonNode ranks = post(port, prefix + "/rerank", Map.of("query", QUERY, "texts", TEXTS)).expect(200).json();
        List<double[]> out = new ArrayList<>();
        ranks.forEach(r -> out.add(new double[] {r.get("index").asInt(), r.get("score").asDouble()}));
        return out;
    }

    private static void assertSameRanking(List<double[]> expected, JsonNode results, int topN) {
        assertEquals(Math.min(topN, expected.size()), results.size(), results::toString);
        for (int i = 0; i < results.size(); i++) {
            assertEquals((int) expected.get(i)[0], results.get(i).get("index").asInt(), "rank " + i);
            assertEquals(expected.get(i)[1], results.get(i).get("relevance_score").asDouble(), 1e-5, "rank " + i);
        }
    }

    @Test
    void cohereShapedStringsRankAsRerank() {
        List<double[]> tei = teiRanking(server.port(), "");
        for (String path : List.of("/v1/rerank", "/v2/rerank")) {
            TestServer.Resp r = post(server.port(), path,
                    Map.of("model", "rerank-v3.5", "query", QUERY, "documents", TEXTS, "top_n", 3)).expect(200);
            JsonNode body = r.json();
            assertSameRanking(tei, body.get("results"), 3);
            body.get("results").forEach(x -> assertFalse(x.has("document"), "Cohere's default: no documents"));
            assertEquals(36, body.get("id").asText().length(), "a UUID");
            assertEquals("2", body.at("/meta/api_version/version").asText());
            assertEquals(1, body.at("/meta/billed_units/search_units").asInt());
            long tokens = Long.parseLong(r.header("x-compute-tokens").orElseThrow());
            assertTrue(tokens > TEXTS.size());
            assertEquals(tokens, body.at("/meta/tokens/input_tokens").asLong());
            assertEquals(tokens, body.at("/usage/total_tokens").asLong());
        }
    }

    @Test
    void jinaShapedTextObjectsWithDocumentsRankAsRerank() {
        List<double[]> tei = teiRanking(server.port(), "");
        List<Map<String, String>> documents = TEXTS.stream().map(t -> Map.of("text", t)).toList();
        JsonNode body = post(server.port(), "/v1/rerank", Map.of("model", "jina-reranker-v2-base-multilingual",
                "query", QUERY, "documents", documents, "return_documents", true)).expect(200).json();
        assertSameRanking(tei, body.get("results"), TEXTS.size());
        for (JsonNode result : body.get("results")) {
            assertEquals(TEXTS.get(result.get("index").asInt()), result.at("/document/text").asText());
        }
        assertTrue(body.at("/usage/total_tokens").asLong() > 0);
        assertEquals(FIXTURES.resolve("reranker-tiny").toString(), body.get("model").asText());
    }

    @Test
    void topNLargerThanTheDocumentsIsAllAndReturnDocumentsFalseHasNone() {
        JsonNode body = post(server.port(), "/v2/rerank", Map.of("query", QUERY, "documents", TEXTS.subList(0, 2),
                "top_n", 10, "return_documents", false)).expect(200).json();
        assertEquals(2, body.get("results").size());
        assertFalse(body.get("results").get(0).has("document"));
    }

    @Test
    void underModelsNameAndOnTheRerankPort() {
        List<double[]> tei = teiRanking(server.port("rerank"), "");
        JsonNode onPort = post(server.port("rerank"), "/v1/rerank", Map.of("query", QUERY, "documents", TEXTS,
                "top_n", 2)).expect(200).json();
        assertSameRanking(tei, onPort.get("results"), 2);
        JsonNode named = post(server.port(), "/models/rerank/v2/rerank", Map.of("query", QUERY, "documents", TEXTS))
                .expect(200).json();
        assertSameRanking(teiRanking(server.port(), "/models/rerank"), named.get("results"), TEXTS.size());
        // The embedder is no cross-encoder: /models/embed/rerank refuses it, here in Cohere's shape.
        TestServer.Resp refused = post(server.port(), "/models/embed/v1/rerank",
                Map.of("query", QUERY, "documents", TEXTS));
        refused.expect(400);
        assertEquals(List.of("message"), TestServer.fieldNames(refused.json()));
        assertTrue(refused.json().get("message").asText().contains("not a re-ranker"), refused.body());
        TestServer.Resp unknown = post(server.port(), "/models/nope/v1/rerank",
                Map.of("query", QUERY, "documents", TEXTS));
        unknown.expect(404);
        assertEquals("no model named `nope`", unknown.json().get("message").asText());
    }

    @Test
    void errorsInCoheresShape() {
        Map<String, Object> tooMany = Map.of("query", QUERY, "documents", List.of("a", "b", "c", "d", "e", "f"));
        // /rerank's limit, TEI's answer there ...
        TestServer.Resp tei = post(server.port(), "/rerank", Map.of("query", QUERY, "texts", tooMany.get("documents")));
        tei.expect(422);
        // ... the same limit and message here, in Cohere's body and status.
        TestServer.Resp cohere = post(server.port(), "/v1/rerank", tooMany);
        cohere.expect(400, "{\"message\":\"batch size 6 > maximum allowed batch size 5\"}");
        assertEquals(tei.json().get("error").asText(), cohere.json().get("message").asText());

        post(server.port(), "/v1/rerank", Map.of("query", QUERY, "documents", List.of()))
                .expect(400, "{\"message\":\"`texts` cannot be empty\"}");
        post(server.port(), "/v1/rerank", Map.of("query", QUERY, "documents", List.of("a", 1)))
                .expect(400, "{\"message\":\"documents[1] must be a string or an object with a `text` string\"}");
        post(server.port(), "/v2/rerank", Map.of("query", QUERY, "documents", List.of("a"), "top_n", 0))
                .expect(400, "{\"message\":\"`top_n` must be a positive integer\"}");
        post(server.port(), "/v2/rerank", Map.of("documents", List.of("a")))
                .expect(400, "{\"message\":\"`query` must be a string\"}");
        TestServer.Resp notJson = server.send(server.port(), "POST", "/v1/rerank", "{", "Content-Type",
                "application/json", "Authorization", "Bearer " + KEY);
        notJson.expect(400);
        assertTrue(notJson.json().get("message").asText().startsWith("Failed to parse the request body as JSON"));
    }

    @Test
    void sameAuthAndMetricsAsRerank() {
        server.send(server.port(), "POST", "/v1/rerank", TestServer.json(Map.of("query", QUERY, "documents", TEXTS)),
                "Content-Type", "application/json").expect(401);
        String series = "te_request_count{model=\"reranker-tiny\",method=\"batch\"}";
        double before = TestServer.metric(server.get("/metrics").expect(200).body(), series);
        post(server.port(), "/v2/rerank", Map.of("query", QUERY, "documents", TEXTS)).expect(200);
        assertEquals(before + 1, TestServer.metric(server.get("/metrics").expect(200).body(), series));
    }
}
