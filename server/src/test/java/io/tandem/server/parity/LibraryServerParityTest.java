package io.tandem.server.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.models.ModelOptions;
import io.tandem.models.api.Embedder;
import io.tandem.models.api.Reranker;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.ort.DeviceChoice;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java library and the HTTP server are faces over one inference core: for the same inputs
 * and the same batch budget they cut the same batches (row by row) and return the same
 * numbers, on a padded and on a packed (padding-free) graph.
 */
class LibraryServerParityTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final int BATCH_TOKENS = 64;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelOptions CPU = new ModelOptions(DeviceChoice.CPU, null, null, 0);

    /** Short and long texts mixed, so the budget splits them into several batches of different shapes. */
    private static final List<String> TEXTS = List.of(
            "short", "a somewhat longer sentence about retrieval and ranking", "中文文本",
            "tiny", "one more input of middling length here", "x",
            "the longest input of them all, which keeps going for quite a few more tokens than the rest",
            "medium sized text", "b", "混合 English 与中文", "retrieval", "the end");

    /** Records each batch's row lengths, in the order the core cut them. */
    private static final class Batches implements InferenceListener {
        final List<List<Integer>> cut = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void batchFormed(List<Integer> rowLengths) {
            cut.add(rowLengths);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"m3-tiny", "m3-tiny-packed"})
    void embedderBatchesAndVectorsMatch(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        Batches library = new Batches();
        List<float[]> libraryVectors;
        try (Embedder embedder = Embedder.open(dir, CPU, InferenceSettings.library(BATCH_TOKENS), library)) {
            libraryVectors = embedder.embed(TEXTS);
        }
        Batches server = new Batches();
        JsonNode body;
        try (Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
                "--embed-model", dir.toString(), "--max-batch-tokens", Integer.toString(BATCH_TOKENS)}, Map.of()),
                server)) {
            server.cut.clear(); // the load's own probe batches, if any, are not the request's
            body = post(tandem.port(), "/embed", Map.of("inputs", TEXTS));
        }
        assertTrue(library.cut.size() > 2, "the budget should split the texts: " + library.cut);
        assertEquals(library.cut, server.cut, "batches cut for the library and for the server");
        assertEquals(TEXTS.size(), body.size());
        for (int i = 0; i < TEXTS.size(); i++) {
            assertArrayEquals(libraryVectors.get(i), floats(body.get(i)), "vector " + i + " of " + fixture);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reranker-tiny", "reranker-tiny-packed"})
    void rerankerBatchesAndScoresMatch(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        String query = "which text talks about retrieval?";
        Batches library = new Batches();
        List<Reranker.Rank> libraryRanks;
        try (Reranker reranker = Reranker.open(dir, CPU, InferenceSettings.library(BATCH_TOKENS), library)) {
            libraryRanks = reranker.rerank(query, TEXTS);
        }
        Batches server = new Batches();
        JsonNode body;
        try (Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
                "--rerank-model", dir.toString(), "--rerank-max-batch-tokens", Integer.toString(BATCH_TOKENS)},
                Map.of()), server)) {
            server.cut.clear();
            body = post(tandem.port(), "/models/rerank/rerank", Map.of("query", query, "texts", TEXTS));
        }
        assertTrue(library.cut.size() > 2, "the budget should split the pairs: " + library.cut);
        assertEquals(library.cut, server.cut, "batches cut for the library and for the server");
        assertEquals(libraryRanks.size(), body.size());
        for (int i = 0; i < libraryRanks.size(); i++) {
            assertEquals(libraryRanks.get(i).index(), body.get(i).get("index").asInt(), "rank " + i);
            assertEquals(libraryRanks.get(i).score(), body.get(i).get("score").floatValue(), "score " + i);
        }
    }

    private static JsonNode post(int port, String path, Object body) throws Exception {
        HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, res.statusCode(), res.body());
        return JSON.readTree(res.body());
    }

    private static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).floatValue();
        }
        return v;
    }
}
