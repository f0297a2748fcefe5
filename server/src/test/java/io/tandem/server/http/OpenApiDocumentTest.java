package io.tandem.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.Method;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.tandem.server.metrics.MetricsRegistry;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The served OpenAPI document against the routes TeiRoutes really registers. */
class OpenApiDocumentTest {

    private static JsonNode doc;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = OpenApiDocumentTest.class.getResourceAsStream("/openapi.json")) {
            assertNotNull(in, "openapi.json is not on the classpath");
            doc = new ObjectMapper().readTree(in);
        }
    }

    /** "GET /path" for every route main() registers, collected by a routing builder that only records. */
    private static Set<String> registeredRoutes() {
        Set<String> routes = new TreeSet<>();
        HttpRouting.Builder recorder = (HttpRouting.Builder) Proxy.newProxyInstance(
                HttpRouting.Builder.class.getClassLoader(), new Class<?>[] {HttpRouting.Builder.class},
                (proxy, method, args) -> {
                    String name = method.getName();
                    if ((name.equals("get") || name.equals("post")) && args.length == 2 && args[0] instanceof String p) {
                        routes.add(name.toUpperCase(Locale.ROOT) + " " + p);
                    } else if (name.equals("route") && args.length == 3 && args[0] instanceof Method m
                            && args[1] instanceof String p) {
                        routes.add(m.text() + " " + p);
                    } else if (name.equals("register")) {
                        // Each surface is an HttpService: record the routes it registers.
                        for (Object a : args) {
                            if (a instanceof HttpService[] services) {
                                for (HttpService service : services) {
                                    service.routing((HttpRules) proxy);
                                }
                            } else if (a instanceof HttpService service) {
                                service.routing((HttpRules) proxy);
                            }
                        }
                        return proxy;
                    } else if (name.equals("any") || name.equals("head") || name.equals("error")) {
                        // 405 catch-alls and HEAD twins of GET routes: nothing to document.
                        return proxy;
                    } else if (name.equals("route")) {
                        throw new AssertionError("recorder cannot read " + method + "; extend it");
                    }
                    return method.getReturnType().isInstance(proxy) ? proxy : null;
                });
        new TeiRoutes(new MetricsRegistry(), List.of(), 1, "0.1.0").main(recorder, new Surface(null, null, true));
        return routes;
    }

    @Test
    void documentsTandemNotTei() {
        assertEquals("0.1.0", doc.path("info").path("version").asText());
        assertTrue(doc.path("info").path("description").asText().contains("1.9.3"));
        assertTrue(doc.path("openapi").asText().startsWith("3."));
    }

    @Test
    void everyRegisteredRouteIsDocumented() {
        Set<String> routes = registeredRoutes();
        assertTrue(routes.contains("POST /embed") && routes.contains("POST /models/{name}/rerank"), routes::toString);
        List<String> missing = new ArrayList<>();
        for (String route : routes) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1);
            if (path.equals("/docs") || path.startsWith("/docs/")) {
                continue; // Swagger UI itself, which TEI leaves out of its document too
            }
            if (!doc.path("paths").path(path).has(method.toLowerCase(Locale.ROOT))) {
                missing.add(route);
            }
        }
        assertEquals(List.of(), missing);
    }

    @Test
    void perModelRoutesTakeTheNameParameter() {
        for (String p : List.of("/models/{name}/embed", "/models/{name}/rerank", "/models/{name}/info")) {
            JsonNode path = doc.path("paths").path(p);
            assertFalse(path.isMissingNode(), p);
            path.forEach(op -> {
                JsonNode param = op.path("parameters").get(0);
                String ref = param.path("$ref").asText();
                JsonNode resolved = doc.at(ref.substring(1));
                assertEquals("name", resolved.path("name").asText(), p);
                assertEquals("path", resolved.path("in").asText(), p);
            });
        }
    }

    @Test
    void operationIdsAreUniqueAndTeiOnesKept() {
        Set<String> ids = new TreeSet<>();
        doc.path("paths").forEach(path -> path.forEach(op -> assertTrue(ids.add(op.path("operationId").asText()),
                "duplicate operationId " + op.path("operationId"))));
        assertTrue(ids.containsAll(List.of("embed", "embed_all", "embed_sparse", "rerank", "predict", "similarity",
                "tokenize", "decode", "openai_embed", "get_model_info", "health", "metrics")), ids::toString);
    }

    @Test
    void specMismatchesFixed() {
        JsonNode schemas = doc.path("components").path("schemas");
        // 1.9 answers 422 for validation errors; TEI's file still said 413 "Batch size error".
        JsonNode embed = doc.path("paths").path("/embed").path("post").path("responses");
        assertTrue(embed.has("422"));
        assertFalse(doc.toString().contains("Batch size error"));
        // The OpenAI error body's third field is `type`.
        JsonNode openAiError = schemas.path("OpenAICompatErrorResponse").path("properties");
        assertTrue(openAiError.has("type"));
        assertFalse(openAiError.has("error_type"));
        // truncate defaults to the server's auto_truncate (true), not false.
        JsonNode truncate = schemas.path("EmbedRequest").path("properties").path("truncate");
        assertFalse(truncate.path("default").asBoolean(false));
        assertTrue(truncate.path("description").asText().contains("auto-truncate"));
        assertTrue(schemas.path("SparseValue").path("properties").has("index"));
    }

    @Test
    void noErrorExampleUsesALowercaseErrorType() {
        List<String> lowercase = new ArrayList<>();
        collectErrorTypes(doc, lowercase);
        assertEquals(List.of(), lowercase);
    }

    /** Every "error_type" (TEI body) and every "type" beside "code" (OpenAI body) in examples anywhere. */
    private static void collectErrorTypes(JsonNode node, List<String> lowercase) {
        if (node.isObject()) {
            JsonNode errorType = node.get("error_type");
            if (errorType != null && errorType.isTextual() && !isCapitalised(errorType.asText())) {
                lowercase.add(node.toString());
            }
            JsonNode type = node.get("type");
            if (node.has("code") && node.has("message") && type != null && type.isTextual()
                    && !isCapitalised(type.asText())) {
                lowercase.add(node.toString());
            }
        }
        node.forEach(child -> collectErrorTypes(child, lowercase));
    }

    private static boolean isCapitalised(String s) {
        return !s.isEmpty() && Character.isUpperCase(s.charAt(0));
    }
}
