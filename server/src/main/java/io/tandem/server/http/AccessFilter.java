package io.tandem.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * CORS headers on every response, and TEI's bearer-token check (401, empty body) on every
 * route but health, metrics and the API document.
 */
public final class AccessFilter implements Filter {

    private final byte[] expected;
    private final List<String> origins;

    /** @param apiKey null for no auth; @param origins allowed CORS origins, empty for any */
    public AccessFilter(String apiKey, List<String> origins) {
        this.expected = apiKey == null || apiKey.isEmpty() ? null : ("Bearer " + apiKey).getBytes(StandardCharsets.UTF_8);
        this.origins = origins;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        cors(req, res);
        if (req.prologue().method() == Method.OPTIONS) {
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "GET,POST");
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, "content-type");
            res.status(200).send();
            return;
        }
        if (expected != null && !isPublic(req) && !authorized(req)) {
            res.status(401).send();
            return;
        }
        chain.proceed();
    }

    private boolean authorized(RoutingRequest req) {
        byte[] given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("").getBytes(StandardCharsets.UTF_8);
        // Constant-time: the time taken must not tell how much of the key matched.
        return MessageDigest.isEqual(given, expected);
    }

    private static boolean isPublic(RoutingRequest req) {
        if (req.prologue().method() != Method.GET && req.prologue().method() != Method.HEAD) {
            return false;
        }
        String path = req.path().path();
        if (path.equals("/") || path.startsWith("/docs") || path.equals("/api-doc/openapi.json")) {
            return true;
        }
        if (path.startsWith("/models/") && path.indexOf('/', 8) < 0) {
            return true; // GET /models/{name}: that model's health
        }
        return path.endsWith("/health") || path.endsWith("/ping") || path.endsWith("/metrics");
    }

    private void cors(RoutingRequest req, RoutingResponse res) {
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origins.isEmpty() || origins.contains("*")) {
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        } else if (origin != null && origins.contains(origin)) {
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        res.header(HeaderNames.VARY, "origin, access-control-request-method, access-control-request-headers");
    }
}
