package io.tandem.server.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tandem.server.hardening.Hardening.Reply;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Never die: a seeded stream of hostile requests over every POST route (at the root and under
 * /models/{name}) of a server with both models. Every answer must be a 200 (the input was in
 * fact valid) or a 4xx in TEI's JSON error format without internals; afterwards the server
 * still answers a known input with the same vector and scores as before.
 */
class HostileInputTest {

    private static final long SEED = 0x7A11_DE11L;
    private static final int REQUESTS = 400;
    private static final int PAYLOAD_LIMIT = 2_000_000;

    private static Tandem tandem;
    private static HttpClient client;
    private static int port;
    private static float[] knownVector;
    private static float[] knownScores;

    @BeforeAll
    static void start() throws Exception {
        tandem = Hardening.startTiny();
        port = tandem.port();
        client = Hardening.client();
        knownVector = Hardening.embed(client, port, "a known input");
        knownScores = Hardening.rerank(client, port, "what is it", List.of("a known input", "something else"));
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    /** Valid bodies per route; hostile values replace or join their fields. */
    private static final Map<String, Map<String, String>> BASES = new LinkedHashMap<>();

    static {
        Map<String, String> embed = fields("inputs", "\"hello world\"", "truncate", "true",
                "truncation_direction", "\"Right\"", "normalize", "true", "dimensions", "8");
        BASES.put("/embed", embed);
        BASES.put("/", embed);
        BASES.put("/invocations", embed);
        BASES.put("/embed_all", fields("inputs", "[\"hello\", [0, 33, 2]]", "truncate", "false",
                "truncation_direction", "\"left\""));
        BASES.put("/embed_sparse", fields("inputs", "\"hello sparse\"", "truncate", "true"));
        BASES.put("/similarity", fields("inputs", "{\"source_sentence\": \"a\", \"sentences\": [\"b\", \"c\"]}",
                "parameters", "{\"truncate\": true, \"truncation_direction\": \"Left\"}"));
        Map<String, String> openAi = fields("input", "[\"one\", \"two\"]", "model", "\"x\"", "encoding_format", "\"base64\"",
                "dimensions", "16", "user", "\"u\"");
        BASES.put("/v1/embeddings", openAi);
        BASES.put("/embeddings", openAi);
        BASES.put("/rerank", fields("query", "\"q\"", "texts", "[\"a\", \"b\"]", "truncate", "true",
                "raw_scores", "false", "return_text", "true", "truncation_direction", "\"Right\""));
        BASES.put("/predict", fields("inputs", "[\"q\", \"d\"]", "truncate", "true", "raw_scores", "true"));
        BASES.put("/tokenize", fields("inputs", "[\"hello\", \"world\"]", "add_special_tokens", "true"));
        BASES.put("/decode", fields("ids", "[0, 100, 2]", "skip_special_tokens", "false"));
    }

    /** Fields a route may also get (absent from its base). */
    private static final List<String> EXTRA_FIELDS = List.of("prompt_name", "inputs", "texts", "query", "ids",
            "normalize", "dimensions", "truncate", "parameters", "unknown_field");

    private static Map<String, String> fields(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }

    private static String body(Map<String, String> fields) {
        StringBuilder b = new StringBuilder("{");
        fields.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        return b.append('}').toString();
    }

    /** JSON text fragments, several of them not JSON at all. */
    private static List<String> hostileValues(Random random) {
        List<String> v = new ArrayList<>(List.of(
                "null", "true", "false", "0", "-1", "-0", "1.5", "1e999999", "-1e999999", "1e-999999",
                "1180591620717411303424", "-1180591620717411303424", "4294967296", "2147483648", "9223372036854775808",
                "NaN", "-NaN", "Infinity", "-Infinity", "+1", "01", "0x10", "\"\"", "\"s\"", "[]", "{}", "[[]]", "[null]",
                "[[null]]", "[1e999999]", "[1180591620717411303424]", "[-1]", "[4294967295]", "[4294967296]", "[1.0, 2.0]",
                "[0, 1360, 2]", "[0, 1361, 2]", "[0, 250001, 2]", "[[0, 99999, 2]]", "[[0, 5, 2], [4294967295]]",
                "\"\\ud800\"", "\"a\\udfff\\ud800b\"", "[\"\\ud800\", \"\\udbff\"]", "\"\\u0000\"",
                "\"a\\u0001\\u001f\\u007f\\u0085\\u2028b\"", "\"a\u0001b\"", "\"tab\there\nnewline\"",
                "\"\\uD83D\\uDE00 emoji 😀 中文 عربى\"", "\"<s></s><pad><unk><mask>\"", "\"\u200b\u200e\u202e\ufeff\"",
                "\"" + "\\u0000".repeat(1000) + "\"", "\"Left\"", "\"LEFT\"", "\"float\"", "\"base32\"",
                "{\"source_sentence\": \"\\ud800\", \"sentences\": [\"\"]}",
                "{\"source_sentence\": \"a\", \"sentences\": []}",
                "{\"source_sentence\": 1, \"sentences\": \"b\"}",
                "[[\"q\"], [\"q\", \"d\"], [\"a\", \"b\", \"c\"]]", "[[]]", "[\"a\", 1]", "[\"\", \"\"]",
                "1" + "0".repeat(2000),
                "0." + "1".repeat(5000)));
        v.add("\"" + "a".repeat(100_000) + "\"");
        v.add("\"" + "語ü😀 ".repeat(20_000) + "\"");
        v.add(list(10_000, i -> "\"t" + i + "\""));
        v.add(list(10_000, i -> Integer.toString(i % 1361)));
        v.add(list(10_000, i -> "[0, " + (i % 1361) + ", 2]"));
        v.add(list(10_000, i -> "\"\""));
        v.add("[".repeat(100_000));
        v.add("[".repeat(100_000) + "]".repeat(100_000));
        v.add("{\"a\":".repeat(50_000) + "1" + "}".repeat(50_000));
        v.add("[".repeat(999) + "\"x\"" + "]".repeat(999));
        v.add(list(64, i -> Integer.toString(random.nextInt(1361))));
        v.add(list(200, i -> Integer.toString(random.nextInt(1361))));
        return v;
    }

    private static String list(int n, java.util.function.IntFunction<String> item) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            b.append(i > 0 ? "," : "").append(item.apply(i));
        }
        return b.append(']').toString();
    }

    private static final List<byte[]> BAD_UTF8 = List.of(
            new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xFE, (byte) 0xFF},
            new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xC0, (byte) 0xAF},
            new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            new byte[] {(byte) 0xE2, (byte) 0x82}, new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
            new byte[] {(byte) 0x80});

    private static final List<String> CONTENT_TYPES = java.util.Arrays.asList(null, "text/plain",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-8",
            "application/vnd.api+json", "application/jsonx", "APPLICATION/JSON", "*/*", ";;;", "application/",
            "application/json; charset=utf-16", "text/json");

    private record Sent(String route, String kind, String contentType, byte[] body) {
        String describe() {
            String text = new String(body, 0, Math.min(body.length, 120), StandardCharsets.UTF_8);
            return route + " [" + kind + ", " + contentType + ", " + body.length + " bytes] " + text;
        }
    }

    private static Sent next(Random random, List<String> values, String[] prefixes) {
        List<String> routes = new ArrayList<>(BASES.keySet());
        String route = routes.get(random.nextInt(routes.size()));
        String prefix = prefixes[random.nextInt(prefixes.length)];
        String path = route.equals("/") && !prefix.isEmpty() ? prefix : prefix + route;
        Map<String, String> base = new LinkedHashMap<>(BASES.get(route));
        String json = "application/json";
        int kind = random.nextInt(100);
        if (kind < 50) {
            List<String> names = new ArrayList<>(base.keySet());
            String field = names.get(random.nextInt(names.size()));
            String value = values.get(random.nextInt(values.size()));
            base.put(field, value);
            return new Sent(path, "field " + field, json, utf8(body(base)));
        }
        if (kind < 58) {
            String field = EXTRA_FIELDS.get(random.nextInt(EXTRA_FIELDS.size()));
            base.put(field, values.get(random.nextInt(values.size())));
            return new Sent(path, "extra " + field, json, utf8(body(base)));
        }
        if (kind < 68) {
            return new Sent(path, "whole body", json, wholeBody(random, body(base)));
        }
        if (kind < 78) {
            // Invalid UTF-8 inside the first string value.
            byte[] valid = utf8(body(base));
            int at = indexOfStringValue(valid);
            byte[] bad = BAD_UTF8.get(random.nextInt(BAD_UTF8.size()));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(valid, 0, at);
            out.writeBytes(bad);
            out.write(valid, at, valid.length - at);
            return new Sent(path, "bad utf-8", json, out.toByteArray());
        }
        if (kind < 88) {
            String type = CONTENT_TYPES.get(random.nextInt(CONTENT_TYPES.size()));
            return new Sent(path, "content type", type, utf8(body(base)));
        }
        if (kind < 93) {
            return new Sent(path, "no body", random.nextBoolean() ? json : null, new byte[0]);
        }
        return new Sent(path, "valid", json, utf8(body(base)));
    }

    private static byte[] wholeBody(Random random, String valid) {
        switch (random.nextInt(12)) {
            case 0:
                return utf8("[".repeat(100_000));
            case 1:
                return utf8("{\"inputs\":" + "[".repeat(100_000));
            case 2: {
                byte[] noise = new byte[1 + random.nextInt(4096)];
                random.nextBytes(noise);
                return noise;
            }
            case 3:
                return utf8(valid.substring(0, random.nextInt(valid.length())));
            case 4:
                return utf8(List.of("null", "[]", "\"x\"", "123", "{}", "true", "NaN", " ").get(random.nextInt(8)));
            case 5:
                return utf8(valid + "{}garbage");
            case 6: {
                byte[] body = utf8(valid);
                byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
                byte[] out = new byte[body.length + 3];
                System.arraycopy(bom, 0, out, 0, 3);
                System.arraycopy(body, 0, out, 3, body.length);
                return out;
            }
            case 7:
                return valid.getBytes(StandardCharsets.UTF_16LE);
            case 8:
                return utf8(valid.replace("{", "{\"inputs\": 1, "));
            case 9:
                return utf8("{\"inputs\": \"" + "\\".repeat(1 + random.nextInt(3)) + "\"}");
            case 10:
                return utf8("{\"inputs\": \"unterminated");
            default:
                return utf8("{" + "\"k\":1,".repeat(50_000) + "\"inputs\":\"x\"}");
        }
    }

    private static int indexOfStringValue(byte[] body) {
        // The first ":" followed by a quote: just inside that string.
        for (int i = 0; i + 1 < body.length; i++) {
            if (body[i] == ':' && body[i + 1] == '"') {
                return i + 2;
            }
        }
        return body.length / 2;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void seededHostileRequestsGetTeiErrorsOrValidAnswers() throws Exception {
        runSuite(client, port, SEED, REQUESTS, "tiny fixtures", new String[] {"", "", "/models/embed", "/models/rerank"});
        assertStillServing();
    }

    /** Sends {@code requests} seeded hostile requests; every answer must be a 200 or a clean TEI 4xx. */
    static void runSuite(HttpClient client, int port, long seed, int requests, String server, String[] prefixes)
            throws Exception {
        Random random = new Random(seed);
        List<String> values = hostileValues(random);
        Map<Integer, Integer> byStatus = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        Map<String, Integer> byMessage = new TreeMap<>();
        for (int i = 0; i < requests; i++) {
            Sent sent = next(random, values, prefixes);
            Reply r = Hardening.post(client, port, sent.route(), sent.contentType(), sent.body());
            byStatus.merge(r.status(), 1, Integer::sum);
            if (r.status() != 200 && r.contentType().startsWith("application/json")) {
                JsonNode e = r.json();
                String message = e.path("error").asText(e.path("message").asText(""));
                byMessage.merge(r.status() + " " + e.path("error_type").asText(e.path("type").asText()) + " "
                        + message.substring(0, Math.min(message.length(), 60)), 1, Integer::sum);
            }
            String context = "request " + i + ": " + sent.describe();
            try {
                assertTrue(r.status() == 200 || (r.status() >= 400 && r.status() < 500),
                        context + " -> " + r.status() + " " + Hardening.abbreviate(r.text()));
                if (r.status() == 200) {
                    r.json();
                } else {
                    Hardening.assertTeiError(r, sent.route().endsWith("embeddings"), context);
                }
            } catch (AssertionError e) {
                failures.add(e.getMessage());
            }
        }
        System.out.println("hostile suite (" + server + "), seed " + seed + ", " + requests + " requests, by status: "
                + byStatus);
        byMessage.forEach((m, n) -> System.out.println("  " + n + " x " + m));
        assertTrue(failures.isEmpty(), failures.size() + " bad answers:\n" + String.join("\n", failures));
        assertTrue(byStatus.getOrDefault(200, 0) > 0, "some inputs were valid: " + byStatus);
        assertTrue(byStatus.keySet().stream().anyMatch(s -> s >= 400), "most were refused: " + byStatus);
    }

    @Test
    void outOfRangeTokenIdsAreRefusedEverywhere() throws Exception {
        for (String ids : List.of("[0, 1361, 2]", "[0, 4294967295, 2]", "[[0, 5, 2], [0, 1361]]")) {
            for (String route : List.of("/decode", "/embed", "/embed_all", "/embed_sparse", "/v1/embeddings")) {
                String field = route.equals("/decode") ? "ids" : route.equals("/v1/embeddings") ? "input" : "inputs";
                Reply r = Hardening.post(client, port, route, "application/json", utf8("{\"" + field + "\":" + ids + "}"));
                Hardening.assertTeiError(r, route.startsWith("/v1"), route + " " + ids);
                assertEquals(422, r.status(), route + " " + ids + ": " + r.text());
            }
        }
        // The largest id in range is fine.
        assertEquals(200, Hardening.post(client, port, "/embed", "application/json", utf8("{\"inputs\":[0,1360,2]}")).status());
        assertEquals(200, Hardening.post(client, port, "/decode", "application/json", utf8("{\"ids\":[0,1360,2]}")).status());
        assertStillServing();
    }

    @Test
    void loneSurrogatesAreRefusedOrServed() throws Exception {
        for (String route : List.of("/embed", "/tokenize", "/rerank", "/predict", "/similarity", "/v1/embeddings")) {
            String s = "\"x\\ud800y\"";
            String body = switch (route) {
                case "/rerank" -> "{\"query\":" + s + ",\"texts\":[" + s + "],\"return_text\":true}";
                case "/predict" -> "{\"inputs\":[" + s + "," + s + "]}";
                case "/similarity" -> "{\"inputs\":{\"source_sentence\":" + s + ",\"sentences\":[" + s + "]}}";
                case "/v1/embeddings" -> "{\"input\":" + s + "}";
                default -> "{\"inputs\":" + s + "}";
            };
            Reply r = Hardening.post(client, port, route, "application/json", utf8(body));
            if (r.status() != 200) {
                Hardening.assertTeiError(r, route.startsWith("/v1"), route);
            }
        }
        assertStillServing();
    }

    /** A chunked body that outgrows --payload-limit: 413 with a JSON body, or the connection closed; never a 5xx. */
    @Test
    void chunkedBodyOverThePayloadLimitIsRefused() throws Exception {
        for (String route : List.of("/embed", "/rerank", "/tokenize", "/decode", "/v1/embeddings")) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                out.write(utf8("POST " + route + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n"));
                // Write from another thread: the server may answer (and close) before it has read it all.
                CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> {
                    long sent = 0;
                    try {
                        byte[] start = utf8("{\"inputs\":\"");
                        out.write(chunk(start));
                        sent += start.length;
                        byte[] piece = utf8("a".repeat(65_536));
                        while (sent < 3L * PAYLOAD_LIMIT) {
                            out.write(chunk(piece));
                            sent += piece.length;
                        }
                        out.write(chunk(utf8("\"}")));
                        out.write(utf8("0\r\n\r\n"));
                        out.flush();
                    } catch (IOException e) {
                        // closed by the server: expected
                    }
                    return sent;
                });
                Hardening.RawReply reply = Hardening.readResponse(s.getInputStream());
                long written = writer.get(60, TimeUnit.SECONDS);
                System.out.println("chunked body over the limit on " + route + ": " + (reply.status() == -1
                        ? reply.note() : reply.status() + " " + reply.text()) + " (client wrote " + written + " bytes)");
                if (reply.status() != -1) {
                    assertEquals(413, reply.status(), route + ": " + reply.text());
                    assertTrue(reply.headers().getOrDefault("content-type", "").startsWith("application/json"), route);
                    JsonNode body = Hardening.JSON.readTree(reply.body());
                    assertTrue(body.path("error").isTextual() || body.path("message").isTextual(), route + ": " + body);
                    Hardening.assertNoLeak(reply.text(), route);
                }
            }
        }
        // Under the limit, chunked is fine.
        byte[] small = utf8("{\"inputs\":\"chunked but small\"}");
        Hardening.RawReply ok = Hardening.raw(port, concat(utf8("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), chunk(small), utf8("0\r\n\r\n")));
        assertEquals(200, ok.status(), ok.text() + ok.note());
        assertStillServing();
    }

    @Test
    void contentLengthOverThePayloadLimitIsRefusedAtOnce() throws Exception {
        Hardening.RawReply r = Hardening.raw(port, utf8("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + (PAYLOAD_LIMIT + 1) + "\r\n\r\n"));
        assertEquals(413, r.status(), r.text() + r.note());
        assertTrue(Hardening.JSON.readTree(r.body()).path("error").isTextual(), r.text());
        Hardening.assertNoLeak(r.text(), "413");
        assertStillServing();
    }

    /** Requests broken below JSON: Helidon answers them before routing, through Tandem's JSON handlers. */
    @Test
    void brokenHttpIsAnsweredWithoutA5xx() throws Exception {
        List<String> requests = List.of(
                "GARBAGE\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}",
                "POST /embed HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(70_000) + "\r\n\r\n",
                "POST /em\u0001bed HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /embed HTTP/9.9\r\nHost: x\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n{\"inputs\":\"abcdefghij\"}",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"inputs\":\"x\"}");
        for (String request : requests) {
            Hardening.RawReply r;
            try {
                r = rawWithHalfClose(request);
            } catch (IOException e) {
                continue; // the server hung up: allowed
            }
            String context = Hardening.abbreviate(request.replace("\r\n", "⏎"));
            assertTrue(r.status() == -1 || r.status() < 500, context + " -> " + r.status() + " " + r.text());
            if (r.status() >= 400 && !r.text().isEmpty()) {
                assertTrue(r.headers().getOrDefault("content-type", "").startsWith("application/json"), context + " " + r.text());
                Hardening.assertNoLeak(r.text(), context);
            }
        }
        assertStillServing();
    }

    /** Sends and then shuts the output, so a server waiting for more body sees its end. */
    private static Hardening.RawReply rawWithHalfClose(String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            s.shutdownOutput();
            return Hardening.readResponse(s.getInputStream());
        }
    }

    private static byte[] chunk(byte[] data) {
        return concat(utf8(Integer.toHexString(data.length) + "\r\n"), data, utf8("\r\n"));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** The server is up, healthy and computes exactly what it computed before the abuse. */
    private static void assertStillServing() throws Exception {
        assertEquals(200, Hardening.get(client, port, "/health").status());
        Hardening.assertSameVector(knownVector, Hardening.embed(client, port, "a known input"), "known /embed vector");
        Hardening.assertSameVector(knownScores,
                Hardening.rerank(client, port, "what is it", List.of("a known input", "something else")), "known /rerank scores");
        assertNotEquals(0, knownVector.length);
    }
}
