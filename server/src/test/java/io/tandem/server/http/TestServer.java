package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One in-process Tandem on port 0 (plus whatever the flags add), with a plain HTTP/1.1 client
 * and the small numeric helpers the conformance tests share.
 */
final class TestServer implements AutoCloseable {

    static final String MODEL = "BAAI/bge-small-zh-v1.5";
    static final ObjectMapper JSON = JsonMapper.builder().build();

    /**
     * Tandem is started on a thread with a large stack. A standalone JVM on this machine
     * ({@code java -cp ... io.tandem.server.Main --device cpu}) dies with SIGSEGV and no hs_err
     * file inside libonnxruntime.so while opening the bge-small-zh session when the loading
     * thread has the default 1 MiB stack (2 MiB is enough). Under surefire the same start needed
     * less than 256 KiB in every run tried, so this is a guard: if it ever recurs here, the test
     * JVM would otherwise vanish with "The forked VM terminated" and no test report.
     */
    private static final long START_STACK_BYTES = 64L << 20;

    private final Tandem tandem;
    private final HttpClient client;

    private TestServer(Tandem tandem) {
        this.tandem = tandem;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    /** Starts Tandem with the given flags plus {@code --device cpu --port 0}. */
    static TestServer start(String... flags) {
        List<String> args = new ArrayList<>(Arrays.asList(flags));
        args.addAll(List.of("--device", "cpu", "--port", "0"));
        var config = Flags.parse(args.toArray(String[]::new), Map.of());
        AtomicReference<Tandem> started = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("tandem-test-start").stackSize(START_STACK_BYTES).start(() -> {
            try {
                started.set(Tandem.start(config));
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (failed.get() != null) {
            throw new IllegalStateException("Tandem did not start", failed.get());
        }
        return new TestServer(started.get());
    }

    Tandem tandem() {
        return tandem;
    }

    int port() {
        return tandem.port();
    }

    int port(String socket) {
        return tandem.port(socket);
    }

    Resp post(String path, String json) {
        return send(port(), "POST", path, json, "Content-Type", "application/json");
    }

    Resp post(int port, String path, String json) {
        return send(port, "POST", path, json, "Content-Type", "application/json");
    }

    Resp get(String path) {
        return send(port(), "GET", path, null);
    }

    Resp get(int port, String path) {
        return send(port, "GET", path, null);
    }

    /** Any request; {@code headers} are name, value pairs; {@code body} null sends none. */
    Resp send(int port, String method, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Resp(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        tandem.close();
    }

    /** A response: status, headers (names lower-cased by the client), body text. */
    record Resp(int status, Map<String, List<String>> headers, String body) {

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        Optional<String> header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return Optional.of(e.getValue().getFirst());
                }
            }
            return Optional.empty();
        }

        /** Asserts the status, with the body in the message when it is not the expected one. */
        Resp expect(int expected) {
            assertEquals(expected, status, () -> "status " + status + ", body: " + abbreviated());
            return this;
        }

        /** Asserts status and the exact body text. */
        void expect(int expected, String exactBody) {
            expect(expected);
            assertEquals(exactBody, body);
        }

        String abbreviated() {
            return body.length() > 300 ? body.substring(0, 300) + "…" : body;
        }
    }

    // ---- JSON and vector helpers ----

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(JsonNode array) {
        assertTrue(array.isArray(), () -> "not an array: " + array);
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            assertTrue(array.get(i).isNumber(), () -> "not a number in " + array);
            v[i] = (float) array.get(i).asDouble();
        }
        return v;
    }

    static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }

    static double cosine(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
        }
        return dot / (norm(a) * norm(b));
    }

    static float[] scaled(float[] v, int k) {
        float[] cut = Arrays.copyOf(v, k);
        double n = norm(cut);
        float[] out = new float[k];
        for (int i = 0; i < k; i++) {
            out[i] = (float) (cut[i] / n);
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > tolerance) {
                fail(what + ": value " + i + " is " + actual[i] + ", expected " + expected[i] + " ± " + tolerance);
            }
        }
    }

    /** The value of one exact series line of a Prometheus text body, e.g. {@code te_embed_count{model="x"}}. */
    static double metric(String body, String series) {
        for (String line : body.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).strip());
            }
        }
        throw new AssertionError("no series " + series + " in /metrics");
    }

    static String series(String name, String... labels) {
        StringBuilder b = new StringBuilder(name).append("{model=\"").append(MODEL).append('"');
        for (int i = 0; i < labels.length; i += 2) {
            b.append(',').append(labels[i]).append("=\"").append(labels[i + 1]).append('"');
        }
        return b.append('}').toString();
    }
}
