package io.tandem.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.InferenceError;
import io.tandem.server.trace.RequestSpan;
import io.tandem.server.trace.Tracing;

import java.util.Map;

/**
 * A server span around each POST route when tracing is on (GET routes such as /health and
 * /metrics are polled and left out). The span rides in a scoped value for the handler's thread,
 * so {@link HttpIo#sendAnswer} can hand it the core's answer without the handlers passing it on.
 */
final class HttpSpans {

    private static final ScopedValue<RequestSpan> CURRENT = ScopedValue.newInstance();

    private HttpSpans() {
    }

    /** The handler itself when tracing is off. */
    static Handler traced(Tracing tracing, String method, String route, Handler handler) {
        if (!tracing.enabled()) {
            return handler;
        }
        return (req, res) -> {
            RequestSpan span = tracing.begin(method + " " + route,
                    name -> req.headers().first(HeaderNames.create(name)).orElse(null),
                    Map.of("http.request.method", method, "http.route", route, "url.path", req.path().path()));
            int status = 500;
            try {
                ScopedValue.where(CURRENT, span).call(() -> {
                    handler.handle(req, res);
                    return null;
                });
                status = res.status().code();
            } catch (InferenceError e) {
                status = HttpErrors.status(e.kind());
                throw e;
            } catch (TeiError e) {
                status = e.status();
                throw e;
            } finally {
                // Not yet answered on the error paths: HttpErrors answers after this returns, with these statuses.
                end(span, status);
            }
        };
    }

    private static void end(RequestSpan span, int status) {
        span.attribute("http.response.status_code", status);
        // OpenTelemetry's HTTP server rule: a 4xx is the client's fault, not the span's.
        span.end(status >= 500 ? Integer.toString(status) : null);
    }

    /** The core's answer to the current request, for its span. */
    static void answered(Answer<?> answer) {
        if (CURRENT.isBound()) {
            CURRENT.get().answered(answer);
        }
    }
}
