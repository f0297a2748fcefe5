package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.tandem.server.BuildInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * /info read as TEI's clients read it: TEI's Info (router/src/lib.rs) where every field is
 * present, and only model_sha and max_batch_requests may be null; sha and docker_label are
 * strings (tei-client refuses null), the sha being the commit the build ran on.
 */
class InfoStrictTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    /** Every key must be there; unknown ones (Tandem's additions) are allowed, as serde allows them. */
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    private static TestServer server;

    /** TEI's Info: Option<…> only where TEI has one, and sha / docker_label required. */
    record TeiInfo(@JsonProperty("model_id") String modelId,
                   @JsonProperty("model_sha") String modelSha,
                   @JsonProperty("model_dtype") String modelDtype,
                   @JsonProperty("served_model_name") String servedModelName,
                   @JsonProperty("model_type") Map<String, Object> modelType,
                   @JsonProperty("max_concurrent_requests") Integer maxConcurrentRequests,
                   @JsonProperty("max_input_length") Integer maxInputLength,
                   @JsonProperty("max_batch_tokens") Integer maxBatchTokens,
                   @JsonProperty("max_batch_requests") Integer maxBatchRequests,
                   @JsonProperty("max_client_batch_size") Integer maxClientBatchSize,
                   @JsonProperty("auto_truncate") Boolean autoTruncate,
                   @JsonProperty("tokenization_workers") Integer tokenizationWorkers,
                   String version,
                   String sha,
                   @JsonProperty("docker_label") String dockerLabel) {
        TeiInfo {
            for (Object required : List.of(Objects.requireNonNull(modelId, "model_id"),
                    Objects.requireNonNull(modelDtype, "model_dtype"),
                    Objects.requireNonNull(servedModelName, "served_model_name"),
                    Objects.requireNonNull(modelType, "model_type"),
                    Objects.requireNonNull(maxConcurrentRequests, "max_concurrent_requests"),
                    Objects.requireNonNull(maxInputLength, "max_input_length"),
                    Objects.requireNonNull(maxBatchTokens, "max_batch_tokens"),
                    Objects.requireNonNull(maxClientBatchSize, "max_client_batch_size"),
                    Objects.requireNonNull(autoTruncate, "auto_truncate"),
                    Objects.requireNonNull(tokenizationWorkers, "tokenization_workers"),
                    Objects.requireNonNull(version, "version"),
                    Objects.requireNonNull(sha, "sha"),
                    Objects.requireNonNull(dockerLabel, "docker_label"))) {
                if (required instanceof String s && s.isEmpty()) {
                    throw new IllegalArgumentException("empty string in /info");
                }
            }
        }
    }

    @BeforeAll
    static void start() {
        server = TestServer.start("--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString(), "--rerank-port", "0");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static TeiInfo strict(TestServer.Resp r) throws IOException {
        return STRICT.readValue(r.expect(200).body(), TeiInfo.class);
    }

    @Test
    void everySurfacesInfoReadsAsTeisStrictModel() throws IOException {
        for (TeiInfo info : List.of(strict(server.get("/info")), strict(server.get("/models/rerank/info")),
                strict(server.get(server.port("rerank"), "/info")))) {
            assertEquals("1.9.3", info.version());
            assertEquals(expectedSha(), info.sha());
            assertEquals("none", info.dockerLabel());
        }
        assertEquals(List.of("embedding"), List.copyOf(strict(server.get("/info")).modelType().keySet()));
        assertEquals(List.of("reranker"), List.copyOf(strict(server.get("/models/rerank/info")).modelType().keySet()));
    }

    @Test
    void theStrictModelRefusesANullSha() throws IOException {
        JsonNode info = server.get("/info").expect(200).json();
        ((com.fasterxml.jackson.databind.node.ObjectNode) info).putNull("sha");
        assertThrows(IOException.class, () -> STRICT.readValue(info.toString(), TeiInfo.class));
        ((com.fasterxml.jackson.databind.node.ObjectNode) info).remove("sha");
        assertThrows(IOException.class, () -> STRICT.readValue(info.toString(), TeiInfo.class));
    }

    /** The commit of this checkout when git can tell (the build read the same HEAD), else "unknown". */
    private static String expectedSha() {
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return git.waitFor() == 0 && out.matches("[0-9a-f]{40}") ? out : BuildInfo.UNKNOWN;
        } catch (IOException e) {
            return BuildInfo.UNKNOWN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
