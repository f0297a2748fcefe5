package io.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.server.config.Flags;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bge-m3-shaped embedder and the reranker fixtures served together: sparse weights,
 * ColBERT vectors and rerank scores through HTTP equal transformers' references.
 */
class TwoModelsTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newHttpClient();
    private static Tandem tandem;
    private static JsonNode refs;

    @BeforeAll
    static void start() throws IOException {
        refs = JSON.readTree(FIXTURES.resolve("references.json").toFile());
        tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
            "--embed-model", FIXTURES.resolve("m3-tiny").toString(),
            "--rerank-model", FIXTURES.resolve("reranker-tiny").toString(),
            "--embed-port", "0", "--rerank-port", "0"}, Map.of()));
    }

    @AfterAll
    static void stop() {
        tandem.close();
    }

    @Test
    void embedSparseReturnsLexicalWeightsInTeiFormat() throws Exception {
        List<String> texts = new ArrayList<>();
        refs.get("embed").forEach(c -> texts.add(c.get("text").asText()));
        JsonNode out = post(tandem.port(), "/embed_sparse", Map.of("inputs", texts));
        assertEquals(texts.size(), out.size());
        for (int i = 0; i < texts.size(); i++) {
            JsonNode expected = refs.get("embed").get(i).get("sparse");
            JsonNode got = out.get(i);
            assertEquals(expected.size(), got.size(), texts.get(i));
            int previous = -1;
            for (JsonNode entry : got) {
                int index = entry.get("index").asInt();
                assertTrue(index > previous, "ascending index");
                previous = index;
                assertEquals(expected.get(Integer.toString(index)).asDouble(), entry.get("value").asDouble(), 1e-4);
            }
        }
    }

    @Test
    void embedAllReturnsColbertVectors() throws Exception {
        JsonNode c = refs.get("embed").get(1);
        JsonNode out = post(tandem.port(), "/embed_all", Map.of("inputs", c.get("text").asText()));
        JsonNode expected = c.get("colbert");
        assertEquals(expected.size(), out.get(0).size());
        for (int t = 0; t < expected.size(); t++) {
            for (int h = 0; h < expected.get(t).size(); h++) {
                assertEquals(expected.get(t).get(h).asDouble(), out.get(0).get(t).get(h).asDouble(), 1e-4);
            }
        }
    }

    @Test
    void embedReturnsTheNormalisedDenseVector() throws Exception {
        JsonNode c = refs.get("embed").get(0);
        JsonNode out = post(tandem.port(), "/embed", Map.of("inputs", c.get("text").asText()));
        for (int h = 0; h < c.get("dense_normalized").size(); h++) {
            assertEquals(c.get("dense_normalized").get(h).asDouble(), out.get(0).get(h).asDouble(), 1e-4);
        }
    }

    @Test
    void rerankScoresAreTheCrossEncodersSigmoidsBestFirst() throws Exception {
        String query = refs.get("rerank").get(0).get("query").asText();
        List<String> texts = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        for (JsonNode c : refs.get("rerank")) {
            if (c.get("query").asText().equals(query)) {
                texts.add(c.get("text").asText());
                scores.add(c.get("score").asDouble());
            }
        }
        JsonNode out = post(tandem.port(), "/rerank", Map.of("query", query, "texts", texts, "return_text", true));
        assertEquals(texts.size(), out.size());
        double previous = Double.MAX_VALUE;
        for (JsonNode rank : out) {
            int index = rank.get("index").asInt();
            assertEquals(scores.get(index), rank.get("score").asDouble(), 1e-4);
            assertEquals(texts.get(index), rank.get("text").asText());
            assertTrue(rank.get("score").asDouble() <= previous);
            previous = rank.get("score").asDouble();
        }
        JsonNode raw = post(tandem.port(), "/rerank", Map.of("query", query, "texts", texts, "raw_scores", true));
        int best = raw.get(0).get("index").asInt();
        double logit = refs.get("rerank").get(best).get("logit").asDouble();
        assertEquals(logit, raw.get(0).get("score").asDouble(), 1e-4);
    }

    @Test
    void predictScoresAPairWithTheRerankersLabel() throws Exception {
        JsonNode c = refs.get("rerank").get(0);
        JsonNode out = post(tandem.port(), "/predict",
                Map.of("inputs", List.of(c.get("query").asText(), c.get("text").asText())));
        assertEquals("LABEL_0", out.get(0).get("label").asText());
        assertEquals(c.get("score").asDouble(), out.get(0).get("score").asDouble(), 1e-4);
    }

    @Test
    void modelPortsServeOneModelEach() throws Exception {
        JsonNode c = refs.get("rerank").get(0);
        JsonNode viaPort = post(tandem.port("rerank"), "/rerank",
                Map.of("query", c.get("query").asText(), "texts", List.of(c.get("text").asText())));
        assertEquals(c.get("score").asDouble(), viaPort.get(0).get("score").asDouble(), 1e-4);
        JsonNode info = get(tandem.port("rerank"), "/info");
        assertEquals(Map.of("reranker", Map.of("id2label", Map.of("0", "LABEL_0"), "label2id", Map.of("LABEL_0", 0))),
                JSON.convertValue(info.get("model_type"), Map.class));
        JsonNode embedInfo = get(tandem.port("embed"), "/info");
        assertEquals("cls", embedInfo.get("model_type").get("embedding").get("pooling").asText());
        assertEquals(List.of("dense", "colbert", "sparse"), JSON.convertValue(embedInfo.get("outputs"), List.class));
        assertEquals(Map.of("dense", "dense_vecs", "sparse", "sparse_weights", "colbert", "colbert_vecs"),
                JSON.convertValue(embedInfo.get("graph_outputs"), Map.class));
        HttpResponse<String> wrong = send(tandem.port("embed"), "/rerank",
                Map.of("query", "q", "texts", List.of("a")));
        assertEquals(424, wrong.statusCode());
        assertEquals("{\"error\":\"Backend error: model is not a re-ranker model\",\"error_type\":\"Backend\"}", wrong.body());
    }

    @Test
    void modelsListsBothWithTheirOutputs() throws Exception {
        JsonNode models = get(tandem.port(), "/models").get("models");
        assertEquals(2, models.size());
        assertEquals("embed", models.get(0).get("role").asText());
        assertEquals("embedder", models.get(0).get("kind").asText());
        assertEquals(32, models.get(0).get("dimensions").asInt());
        assertEquals(64, models.get(0).get("max_input_length").asInt());
        assertEquals("reranker", models.get(1).get("kind").asText());
        assertEquals("cross-encoder", get(tandem.port(), "/models").get("rerank_mode").asText());
    }

    private static JsonNode post(int port, String path, Object body) throws Exception {
        HttpResponse<String> res = send(port, path, body);
        assertEquals(200, res.statusCode(), res.body());
        return JSON.readTree(res.body());
    }

    private static HttpResponse<String> send(int port, String path, Object body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        return CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode get(int port, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build();
        HttpResponse<String> res = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, res.statusCode(), res.body());
        return JSON.readTree(res.body());
    }
}
