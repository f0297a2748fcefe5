package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TEI's SageMaker-style POST / and /invocations: by the model's kind, and for an embedder
 * /similarity when TASK is sentence-similarity (huggingface_hub's sentence_similarity body).
 */
class SageMakerRoutesTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final Map<String, Object> SIMILARITY = Map.of("inputs", Map.of(
            "source_sentence", "a panda is a bear", "sentences", List.of("pandas are bears", "Paris", "a panda")));
    private static TestServer similarityTask;
    private static TestServer plain;

    @BeforeAll
    static void start() {
        similarityTask = TestServer.start("--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString(), "--embed-port", "0",
                "--rerank-port", "0", "--task", "sentence-similarity");
        plain = TestServer.start("--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString());
    }

    @AfterAll
    static void stop() {
        similarityTask.close();
        plain.close();
    }

    @Test
    void sentenceSimilarityTaskAnswersAsSimilarity() {
        String body = TestServer.json(SIMILARITY);
        String expected = similarityTask.post("/similarity", body).expect(200).body();
        assertEquals(3, similarityTask.post("/similarity", body).json().size());
        int embedPort = similarityTask.port("embed");
        for (String path : List.of("/", "/invocations", "/models/embed", "/models/embed/invocations")) {
            assertEquals(expected, similarityTask.post(path, body).expect(200).body(), path);
        }
        assertEquals(expected, similarityTask.post(embedPort, "/", body).expect(200).body());
        assertEquals(expected, similarityTask.post(embedPort, "/invocations", body).expect(200).body());
        // An /embed body is not a similarity body there.
        similarityTask.post("/", "{\"inputs\":\"x\"}").expect(422);
    }

    @Test
    void theTaskLeavesRerankersAlone() {
        String body = TestServer.json(Map.of("query", "panda", "texts", List.of("bear", "city")));
        int rerankPort = similarityTask.port("rerank");
        String expected = similarityTask.post(rerankPort, "/rerank", body).expect(200).body();
        assertEquals(expected, similarityTask.post(rerankPort, "/", body).expect(200).body());
        assertEquals(expected, similarityTask.post("/models/rerank/invocations", body).expect(200).body());
    }

    @Test
    void withoutTheTaskAnEmbedderEmbeds() {
        String body = "{\"inputs\":[\"one\",\"two\"]}";
        String expected = plain.post("/embed", body).expect(200).body();
        assertEquals(expected, plain.post("/", body).expect(200).body());
        assertEquals(expected, plain.post("/invocations", body).expect(200).body());
        TestServer.Resp similarity = plain.post("/", TestServer.json(SIMILARITY));
        similarity.expect(422);
        assertTrue(similarity.json().get("error").asText().contains("inputs"), similarity.body());
    }
}
