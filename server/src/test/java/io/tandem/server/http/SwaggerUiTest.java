package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /docs against a running server (the built-in model on the CPU), and rendered by headless Chromium. */
class SwaggerUiTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final String SKIP_REASON = "no " + CHROMIUM + " to render /docs in (apt-get install chromium runs it)";
    private static Tandem tandem;
    private static HttpClient client;

    @BeforeAll
    static void start() {
        tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0"}, Map.of()));
        client = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    private static HttpResponse<byte[]> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + tandem.port() + path)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void docsPageLoadsTheUiAndPointsAtTheSpec() throws Exception {
        for (String path : List.of("/docs", "/docs/")) {
            HttpResponse<byte[]> res = get(path);
            assertEquals(200, res.statusCode(), path);
            assertTrue(res.headers().firstValue("content-type").orElse("").startsWith("text/html"), path);
            String html = new String(res.body(), StandardCharsets.UTF_8);
            assertTrue(html.contains("/api-doc/openapi.json"), html);
            assertTrue(html.contains("/docs/swagger-ui-bundle.js"), html);
        }
    }

    @Test
    void assetsComeFromTheWebjar() throws Exception {
        HttpResponse<byte[]> js = get("/docs/swagger-ui-bundle.js");
        assertEquals(200, js.statusCode());
        assertTrue(js.headers().firstValue("content-type").orElse("").startsWith("application/javascript"));
        assertTrue(js.body().length > 100_000, "bundle is " + js.body().length + " bytes");
        HttpResponse<byte[]> css = get("/docs/swagger-ui.css");
        assertEquals(200, css.statusCode());
        assertTrue(css.headers().firstValue("content-type").orElse("").startsWith("text/css"));
    }

    @Test
    void unknownOrEscapingAssetsAre404() throws Exception {
        assertEquals(404, get("/docs/nope.js").statusCode());
        assertEquals(404, get("/docs/..%2Fpom.properties").statusCode());
        assertEquals(404, get("/docs/swagger-ui.js.map").statusCode());
    }

    @Test
    void specIsServed() throws Exception {
        HttpResponse<byte[]> res = get("/api-doc/openapi.json");
        assertEquals(200, res.statusCode());
        assertTrue(new String(res.body(), StandardCharsets.UTF_8).contains("\"/embed_sparse\""));
    }

    @Test
    void chromiumRendersTheOperations() throws Exception {
        if (!Files.isExecutable(CHROMIUM)) {
            // Surefire keeps an assumption's reason in its XML report only: say it where CI shows it.
            System.out.println("SKIPPED SwaggerUiTest.chromiumRendersTheOperations: " + SKIP_REASON);
        }
        assumeTrue(Files.isExecutable(CHROMIUM), SKIP_REASON);
        Path profile = Files.createTempDirectory("tandem-chromium");
        Path out = profile.resolve("dom.html");
        try {
            Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=10000", "--dump-dom",
                    "http://127.0.0.1:" + tandem.port() + "/docs")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectOutput(out.toFile()) // a file, not a pipe: a stuck browser cannot block the read
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("chromium did not exit within 60 s");
            }
            String dom = Files.readString(out);
            // Swagger UI renders each operation's path in an element with data-path.
            assertTrue(dom.contains("data-path=\"/embed\""), () -> "no /embed operation in " + snippet(dom));
            assertTrue(dom.contains("data-path=\"/rerank\""), () -> "no /rerank operation in " + snippet(dom));
            assertTrue(dom.contains("data-path=\"/models/{name}/embed\""), () -> snippet(dom));
        } finally {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static String snippet(String dom) {
        return dom.length() > 2000 ? dom.substring(0, 2000) + "…" : dom;
    }
}
