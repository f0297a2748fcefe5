package io.tandem.server.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared pieces of the hardening tests: servers on the tiny fixtures, HTTP over a client or a raw socket. */
final class Hardening {

    static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    static final Path M3_TINY = FIXTURES.resolve("m3-tiny");
    static final Path RERANKER_TINY = FIXTURES.resolve("reranker-tiny");
    static final ObjectMapper JSON = new ObjectMapper();

    /** Every POST route TEI has, relative to a prefix ("" or /models/{name}). */
    static final List<String> POST_ROUTES = List.of("/embed", "/embed_all", "/embed_sparse", "/similarity",
            "/v1/embeddings", "/embeddings", "/rerank", "/predict", "/tokenize", "/decode", "/invocations", "/");

    static final Set<String> ERROR_TYPES = Set.of("Unhealthy", "Backend", "Overloaded", "Validation", "Tokenizer", "Empty");

    /** Text that must never reach a client: stack frames, class names, source and file-system paths. */
    static final List<String> LEAKS = List.of("at io.", "at java.", "Exception", ".java:", "/tmp", "/work", "/home",
            "/usr/", "/root", "/proc", "/opt", "\tat ");

    private Hardening() {
    }

    /** Both tiny fixtures on CPU, main port only, with extra flags. */
    static Tandem startTiny(String... extra) {
        List<String> args = new ArrayList<>(List.of("--device", "cpu", "--port", "0", "--hostname", "127.0.0.1",
                "--embed-model", M3_TINY.toString(), "--rerank-model", RERANKER_TINY.toString()));
        args.addAll(List.of(extra));
        return Tandem.start(Flags.parse(args.toArray(String[]::new), Map.of()));
    }

    static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A response reduced to what the tests look at. */
    record Reply(int status, String contentType, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + abbreviate(text()), e);
            }
        }
    }

    static Reply post(HttpClient client, int port, String path, String contentType, byte[] body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body());
    }

    static Reply postJson(HttpClient client, int port, String path, Object body) throws IOException, InterruptedException {
        return post(client, port, path, "application/json", JSON.writeValueAsBytes(body));
    }

    static Reply get(HttpClient client, int port, String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).GET();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body());
    }

    /** The /embed vector of one text, as sent (float32 values). */
    static float[] embed(HttpClient client, int port, String text) throws IOException, InterruptedException {
        Reply r = postJson(client, port, "/embed", Map.of("inputs", text));
        assertEquals(200, r.status(), r.text());
        JsonNode v = r.json().get(0);
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i).floatValue();
        }
        return out;
    }

    /** /rerank scores of (query, texts) in input order. */
    static float[] rerank(HttpClient client, int port, String query, List<String> texts) throws IOException, InterruptedException {
        Reply r = postJson(client, port, "/rerank", Map.of("query", query, "texts", texts, "raw_scores", true));
        assertEquals(200, r.status(), r.text());
        float[] out = new float[texts.size()];
        for (JsonNode rank : r.json()) {
            out[rank.get("index").asInt()] = rank.get("score").floatValue();
        }
        return out;
    }

    static void assertSameVector(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])
                    && Math.abs(expected[i] - actual[i]) > 1e-6) {
                fail(what + ": value " + i + " was " + expected[i] + ", now " + actual[i]);
            }
        }
    }

    /**
     * A refusal in TEI's format: a 4xx status, a JSON body {"error", "error_type"} (OpenAI routes:
     * {"message", "code", "type"}), nothing internal in it.
     */
    static void assertTeiError(Reply r, boolean openAi, String context) {
        assertTrue(r.status() >= 400 && r.status() < 500, context + ": status " + r.status() + " " + abbreviate(r.text()));
        assertTrue(r.contentType().startsWith("application/json"), context + ": content type " + r.contentType());
        JsonNode body = r.json();
        if (openAi && body.has("message")) {
            assertTrue(body.get("message").isTextual(), context);
            assertEquals(r.status(), body.get("code").asInt(), context);
            assertTrue(ERROR_TYPES.contains(body.get("type").asText()), context + ": " + body);
        } else {
            assertTrue(body.path("error").isTextual(), context + ": " + abbreviate(r.text()));
            assertTrue(ERROR_TYPES.contains(body.path("error_type").asText()), context + ": " + abbreviate(r.text()));
        }
        assertNoLeak(r.text(), context);
    }

    static void assertNoLeak(String body, String context) {
        for (String leak : LEAKS) {
            assertFalse(body.contains(leak), context + ": body reveals internals (" + leak + "): " + abbreviate(body));
        }
    }

    static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "…(" + s.length() + " chars)" : s;
    }

    /** A reply read off a raw socket; {@code status} -1 when the server closed without answering. */
    record RawReply(int status, Map<String, String> headers, byte[] body, String note) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Sends bytes as they are and reads one HTTP/1.1 response (or the connection's end). */
    static RawReply raw(int port, byte[] request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // The server may answer and close before it read everything: read what it said.
            }
            return readResponse(s.getInputStream());
        }
    }

    static RawReply readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        try {
            int c;
            int state = 0;
            while (state < 4 && (c = in.read()) >= 0) {
                head.write(c);
                state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1
                        : c == '\r' ? 1 : 0;
            }
        } catch (java.net.SocketException e) {
            if (head.size() == 0) {
                return new RawReply(-1, Map.of(), new byte[0], "reset before any response: " + e.getMessage());
            }
            throw new IOException("response cut in its head: " + e.getMessage(), e);
        }
        if (head.size() == 0) {
            return new RawReply(-1, Map.of(), new byte[0], "closed without a response");
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP response: " + lines[0]);
        }
        int status = Integer.parseInt(statusLine[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        try {
            return new RawReply(status, headers, readBody(in, headers), "");
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith("response cut") ? e
                    : new IOException("response cut: " + e.getMessage(), e);
        }
    }

    private static byte[] readBody(InputStream in, Map<String, String> headers) throws IOException {
        byte[] body;
        if (headers.containsKey("content-length")) {
            body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            if (body.length < Integer.parseInt(headers.get("content-length"))) {
                throw new IOException("response cut: " + body.length + " of " + headers.get("content-length") + " bytes");
            }
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = readChunked(in);
        } else {
            body = in.readAllBytes();
        }
        return body;
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in).trim();
            int semi = size.indexOf(';');
            int n = Integer.parseInt(semi < 0 ? size : size.substring(0, semi), 16);
            if (n == 0) {
                while (!line(in).isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            byte[] chunk = in.readNBytes(n);
            if (chunk.length < n) {
                throw new IOException("response cut inside a chunk");
            }
            body.write(chunk);
            line(in);
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.write(c);
            }
        }
        if (c < 0 && b.size() == 0) {
            throw new IOException("response cut");
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /** A server started as production starts it: Main in its own JVM, on a free port. */
    record Child(Process process, int port, Path log) {
        String tail() {
            try {
                List<String> lines = Files.readAllLines(log);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    static Child startChild(List<String> jvmArgs, List<String> args, Path log) throws IOException {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true"));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.tandem.server.Main",
                "--device", "cpu", "--hostname", "127.0.0.1", "--port", Integer.toString(port)));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(Map.of("DJL_OFFLINE", "true", "RUST_FLAVOR", "cpu", "OPT_OUT_TRACKING", "true"));
        return new Child(pb.start(), port, log);
    }

    /** Waits for /health 200; fails with the child's log if it dies or takes too long. */
    static void awaitHealthy(Child child) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        HttpClient client = client();
        while (System.nanoTime() < deadline) {
            if (!child.process().isAlive()) {
                fail("server exited with " + child.process().exitValue() + "\n" + child.tail());
            }
            try {
                if (get(client, child.port(), "/health").status() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        fail("server not healthy in 120 s\n" + child.tail());
    }

    /** A copy of a fixture folder that the test may edit. */
    static Path copyFixture(Path fixture, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(fixture)) {
            for (Path f : files.toList()) {
                Files.copy(f, target.resolve(f.getFileName()));
            }
        }
        return target;
    }
}
