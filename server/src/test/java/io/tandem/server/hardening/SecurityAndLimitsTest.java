package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API key guards every inference route on every listener, and everything a client controls
 * has a limit: inputs per request, input length, {@code dimensions}, rerank texts, body size.
 */
class SecurityAndLimitsTest {

    private static final String KEY = "s3cret-key";
    private static final String[] AUTH = {"Authorization", "Bearer " + KEY};
    private static final int BATCH = 4;
    private static final int PAYLOAD = 20_000;

    private static Tandem tandem;
    private static HttpClient client;

    @BeforeAll
    static void start() {
        tandem = Hardening.startTiny("--api-key", KEY, "--embed-port", "0", "--rerank-port", "0",
                "--max-client-batch-size", Integer.toString(BATCH), "--payload-limit", Integer.toString(PAYLOAD));
        client = Hardening.client();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    /** Every POST route of every surface: main port (root and /models/{name}) and both model ports. */
    private static List<String[]> postRoutes() {
        List<String[]> all = new ArrayList<>();
        int main = tandem.port();
        for (String route : Hardening.POST_ROUTES) {
            all.add(new String[] {Integer.toString(main), route});
            for (String model : List.of("/models/embed", "/models/rerank")) {
                all.add(new String[] {Integer.toString(main), route.equals("/") ? model : model + route});
            }
            all.add(new String[] {Integer.toString(tandem.port("embed")), route});
            all.add(new String[] {Integer.toString(tandem.port("rerank")), route});
        }
        return all;
    }

    private static byte[] body(String route) {
        String json = switch (route.substring(route.lastIndexOf('/'))) {
            case "/rerank" -> "{\"query\":\"q\",\"texts\":[\"a\"]}";
            case "/predict" -> "{\"inputs\":[\"q\",\"d\"]}";
            case "/similarity" -> "{\"inputs\":{\"source_sentence\":\"a\",\"sentences\":[\"b\"]}}";
            case "/v1/embeddings", "/embeddings" -> "{\"input\":\"a\"}";
            case "/decode" -> "{\"ids\":[0,5,2]}";
            default -> "{\"inputs\":\"a\"}";
        };
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everyPostRouteNeedsTheKey() throws Exception {
        List<String> wrongKeys = List.of("", "Bearer", "Bearer ", "Bearer s3cret-ke", "Bearer s3cret-key x",
                "Bearer s3cret-keyX", "bearer " + KEY, KEY, "Basic " + KEY, "Bearer S3CRET-KEY", "Bearer " + KEY + KEY);
        int checked = 0;
        for (String[] r : postRoutes()) {
            int port = Integer.parseInt(r[0]);
            String route = r[1];
            Hardening.Reply none = Hardening.post(client, port, route, "application/json", body(route));
            assertEquals(401, none.status(), port + route + " without a key: " + none.text());
            assertEquals(0, none.body().length, "TEI's 401 has an empty body");
            for (String wrong : wrongKeys) {
                Hardening.Reply denied = wrong.isEmpty()
                        ? Hardening.post(client, port, route, "application/json", body(route), "Authorization", "")
                        : Hardening.post(client, port, route, "application/json", body(route), "Authorization", wrong);
                assertEquals(401, denied.status(), port + route + " with '" + wrong + "'");
            }
            Hardening.Reply allowed = Hardening.post(client, port, route, "application/json", body(route), AUTH);
            assertNotEquals(401, allowed.status(), port + route + " with the key");
            if (allowed.status() != 200) {
                // e.g. /rerank on the embedder's port: TEI's 424, but never an auth failure
                Hardening.assertTeiError(allowed, route.endsWith("embeddings"), port + route);
            }
            checked++;
        }
        assertTrue(checked >= 4 * Hardening.POST_ROUTES.size(), "routes checked: " + checked);
        // Reading routes that reveal the deployment need it too; health and metrics do not (as TEI).
        int main = tandem.port();
        assertEquals(401, Hardening.get(client, main, "/info").status());
        assertEquals(401, Hardening.get(client, main, "/models").status());
        assertEquals(401, Hardening.get(client, main, "/models/embed/info").status());
        assertEquals(200, Hardening.get(client, main, "/info", AUTH).status());
        for (String open : List.of("/health", "/ping", "/metrics", "/", "/models/embed")) {
            assertEquals(200, Hardening.get(client, main, open).status(), open);
        }
    }

    @Test
    void inputsPerRequestAreLimitedOnEveryRoute() throws Exception {
        List<String> texts = Collections.nCopies(BATCH + 1, "x");
        List<List<Integer>> ids = Collections.nCopies(BATCH + 1, List.of(0, 5, 2));
        Map<String, Object> over = Map.of(
                "/embed", Map.of("inputs", texts),
                "/embed_all", Map.of("inputs", ids),
                "/embed_sparse", Map.of("inputs", texts),
                "/v1/embeddings", Map.of("input", texts),
                "/similarity", Map.of("inputs", Map.of("source_sentence", "s", "sentences", Collections.nCopies(BATCH, "x"))),
                "/rerank", Map.of("query", "q", "texts", texts),
                "/predict", Map.of("inputs", Collections.nCopies(BATCH + 1, List.of("q", "d"))),
                "/tokenize", Map.of("inputs", texts),
                "/decode", Map.of("ids", ids));
        for (var e : over.entrySet()) {
            Hardening.Reply r = post(e.getKey(), e.getValue());
            assertEquals(422, r.status(), e.getKey() + ": " + r.text());
            Hardening.assertTeiError(r, e.getKey().startsWith("/v1"), e.getKey());
            String message = r.json().has("error") ? r.json().get("error").asText() : r.json().get("message").asText();
            assertEquals("batch size " + (BATCH + 1) + " > maximum allowed batch size " + BATCH, message, e.getKey());
        }
        assertEquals(200, post("/embed", Map.of("inputs", Collections.nCopies(BATCH, "x"))).status());
    }

    @Test
    void inputLengthIsLimited() throws Exception {
        int maxTokens = 64; // m3-tiny: max_position_embeddings 66 - 2
        String longText = "word ".repeat(200);
        Hardening.Reply tokens = post("/embed", Map.of("inputs", longText, "truncate", false));
        assertEquals(422, tokens.status(), tokens.text());
        assertTrue(tokens.json().get("error").asText().contains("must have less than " + maxTokens + " tokens"), tokens.text());
        assertEquals(200, post("/embed", Map.of("inputs", longText, "truncate", true)).status());
        Hardening.Reply pair = post("/rerank", Map.of("query", longText, "texts", List.of(longText), "truncate", false));
        assertEquals(422, pair.status(), pair.text());
        assertEquals(200, post("/rerank", Map.of("query", longText, "texts", List.of(longText))).status());
        // The character guard (max_input_length x 250) holds even where nothing truncates.
        String huge = "a".repeat(maxTokens * 250 + 1);
        Hardening.Reply chars = post("/tokenize", Map.of("inputs", huge));
        assertEquals(422, chars.status(), chars.text());
        assertTrue(chars.json().get("error").asText().contains("characters"), chars.text());
        // Token ids: not more than the model takes, none outside the vocabulary.
        List<Integer> manyIds = Collections.nCopies(maxTokens + 1, 5);
        assertEquals(422, post("/embed", Map.of("inputs", manyIds, "truncate", false)).status());
        assertEquals(200, post("/embed", Map.of("inputs", manyIds, "truncate", true)).status());
        assertEquals(422, post("/embed", Map.of("inputs", List.of(0, 1361, 2))).status());
    }

    @Test
    void dimensionsAreLimited() throws Exception {
        for (Object dims : List.of(0, 33, 1024, 2147483647L, 2147483648L, -1, 1.5, "8")) {
            Hardening.Reply r = post("/embed", Map.of("inputs", "x", "dimensions", dims));
            assertEquals(422, r.status(), dims + ": " + r.text());
            Hardening.assertTeiError(r, false, "dimensions " + dims);
            Hardening.Reply openAi = post("/v1/embeddings", Map.of("input", "x", "dimensions", dims));
            assertEquals(422, openAi.status(), dims + ": " + openAi.text());
        }
        assertEquals(8, post("/embed", Map.of("inputs", "x", "dimensions", 8)).json().get(0).size());
        assertEquals(32, post("/embed", Map.of("inputs", "x", "dimensions", 32)).json().get(0).size());
    }

    @Test
    void bodySizeIsLimited() throws Exception {
        for (String route : List.of("/embed", "/rerank", "/tokenize", "/v1/embeddings")) {
            // Only the head: the server answers from Content-Length, before any body byte (had the client
            // been sending the body, the server's close could reset the connection under the answer).
            Hardening.RawReply r = Hardening.raw(tandem.port(), ("POST " + route + " HTTP/1.1\r\nHost: x\r\n"
                    + "Authorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + (PAYLOAD + 1) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            assertEquals(413, r.status(), route + " " + r.note());
            assertTrue(r.headers().get("content-type").startsWith("application/json"), route);
            assertEquals("Validation", Hardening.JSON.readTree(r.body()).get("error_type").asText(), route);
            Hardening.assertNoLeak(r.text(), route);
        }
        assertEquals(200, post("/embed", Map.of("inputs", "a".repeat(PAYLOAD - 100))).status());
    }

    private static Hardening.Reply post(String route, Object body) throws Exception {
        return Hardening.post(client, tandem.port(), route, "application/json", Hardening.JSON.writeValueAsBytes(body), AUTH);
    }
}
