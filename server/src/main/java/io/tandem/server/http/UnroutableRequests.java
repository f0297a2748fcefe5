package io.tandem.server.http;

import io.helidon.http.Method;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Requests whose target is not a path (CONNECT's {@code host:port}, an authority or URI where a
 * path belongs) are answered before route matching, which would fail on them with a 500.
 * CONNECT is 501: there is no tunnel for any resource here (RFC 9110 15.6.2).
 */
public final class UnroutableRequests implements Filter {

    public static final UnroutableRequests FILTER = new UnroutableRequests();

    private UnroutableRequests() {
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        if (req.prologue().method() == Method.CONNECT) {
            HttpIo.sendError(res, 501, ErrorType.Validation, "Method not implemented", false);
            return;
        }
        String path = req.path().rawPath();
        if (path == null || !(path.startsWith("/") || path.equals("*"))) {
            HttpIo.sendError(res, 400, ErrorType.Validation, "Request target is not a path", false);
            return;
        }
        chain.proceed();
    }
}
