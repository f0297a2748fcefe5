package io.tandem.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Swagger UI at /docs, as TEI serves it: the static files of the org.webjars:swagger-ui jar on
 * the classpath, and our own index page that points the UI at /api-doc/openapi.json.
 */
final class SwaggerUi {

    private static final String WEBJAR = "/META-INF/resources/webjars/swagger-ui/";
    /** One path segment of plain characters: no way to climb out of the webjar folder. */
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Map<String, String> TYPES = Map.of(
            "js", "application/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "png", "image/png",
            "html", "text/html; charset=utf-8",
            "txt", "text/plain; charset=utf-8");

    // Absolute asset URLs: the page is served at both /docs and /docs/, where relative ones differ.
    private static final byte[] INDEX = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <title>Tandem API</title>
              <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
              <link rel="stylesheet" href="/docs/swagger-ui.css">
            </head>
            <body>
              <div id="swagger-ui"></div>
              <script src="/docs/swagger-ui-bundle.js"></script>
              <script>
                window.ui = SwaggerUIBundle({url: "/api-doc/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
              </script>
            </body>
            </html>
            """.getBytes(StandardCharsets.UTF_8);

    /** Kept once read: the whole UI is under 5 MB and every browser asks for the same few files. */
    private static final Map<String, Optional<byte[]>> FILES = new ConcurrentHashMap<>();

    private SwaggerUi() {
    }

    static void register(HttpRouting.Builder routing) {
        routing.get("/docs", SwaggerUi::index);
        routing.get("/docs/", SwaggerUi::index);
        routing.get("/docs/{file}", SwaggerUi::asset);
    }

    private static void index(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, TYPES.get("html"));
        res.send(INDEX);
    }

    private static void asset(ServerRequest req, ServerResponse res) {
        String file = req.path().pathParameters().first("file").orElse("");
        String ext = file.substring(file.lastIndexOf('.') + 1);
        Optional<byte[]> bytes = FILE.matcher(file).matches() && TYPES.containsKey(ext)
                ? FILES.computeIfAbsent(file, SwaggerUi::read) : Optional.empty();
        if (bytes.isEmpty()) {
            res.status(404).send();
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, TYPES.get(ext));
        res.send(bytes.get());
    }

    private static Optional<byte[]> read(String file) {
        String version = Version.SWAGGER_UI;
        if (version == null) {
            return Optional.empty();
        }
        try (InputStream in = SwaggerUi.class.getResourceAsStream(WEBJAR + version + "/" + file)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The webjar's version names its folder; read from its Maven metadata so a version bump needs no edit. */
    private static final class Version {
        static final String SWAGGER_UI = load();

        private static String load() {
            try (InputStream in = SwaggerUi.class.getResourceAsStream(
                    "/META-INF/maven/org.webjars/swagger-ui/pom.properties")) {
                if (in == null) {
                    return null;
                }
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
