package io.tandem.server.http;

import io.tandem.models.tokenize.InputTooLongException;
import io.tandem.models.tokenize.TokenizerException;
import io.tandem.ort.InferenceException;
import io.tandem.server.core.Outcome;
import io.tandem.server.metrics.TeiMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What every inference route does around its own work: turn failures into TEI errors
 * (counted in te_request_failure), and on success set TEI's timing headers and metrics.
 */
final class Endpoint {

    private static final Logger LOG = Logger.getLogger(Endpoint.class.getName());

    @FunctionalInterface
    interface Work {
        void run();
    }

    private Endpoint() {
    }

    /** Runs a route's work; any failure becomes a TEI error response. */
    static void guard(ServerResponse res, TeiMetrics metrics, boolean openAi, Work work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            TeiError error = toTeiError(e);
            if (metrics != null && error.failure() != null) {
                metrics.requestFailed(TeiMetrics.Failure.valueOf(error.failure().toUpperCase(java.util.Locale.ROOT)));
            }
            if (!res.isSent()) {
                HttpIo.sendError(res, error, openAi);
            }
        }
    }

    static TeiError toTeiError(RuntimeException e) {
        if (e instanceof TeiError t) {
            return t;
        }
        if (e instanceof InputTooLongException t) {
            return TeiError.validation(t.getMessage());
        }
        if (e instanceof TokenizerException t) {
            return TeiError.tokenizer(t.getMessage());
        }
        if (e instanceof InferenceException t) {
            return TeiError.backend(withoutPaths(t.getMessage()));
        }
        // Anything else is our bug or a native failure: the log gets the details, the client no internals
        // (a class name or a message from deep inside would tell it what runs here).
        LOG.log(Level.WARNING, "request failed", e);
        return TeiError.backend("unexpected failure while serving the request");
    }

    private static final java.util.regex.Pattern SOURCE_PATH =
            java.util.regex.Pattern.compile("(/[\\w.+-]+)+(:\\d+)?\\s*");

    /** ORT's messages name its source files and our model paths: clients get neither. */
    static String withoutPaths(String message) {
        return message == null ? "" : SOURCE_PATH.matcher(message).replaceAll("");
    }

    /**
     * TEI's success headers and metrics.
     *
     * @param characters Unicode characters of the inputs as sent (before prompts and truncation)
     * @param embed      per-input te_embed_* (true) or te_predict_* (false) metrics
     */
    static void succeeded(ServerResponse res, TeiMetrics metrics, long start, boolean batch, boolean embed,
                          List<? extends Outcome<?>> outcomes, long characters) {
        long total = System.nanoTime() - start;
        long tokens = 0;
        long tokenize = 0;
        long queue = 0;
        long inference = 0;
        for (Outcome<?> o : outcomes) {
            tokens += o.tokens();
            tokenize += o.tokenizeNanos();
            queue += o.queueNanos();
            inference += o.inferenceNanos();
            metrics.inputLength(o.tokens());
            TeiMetrics.Timings item = new TeiMetrics.Timings(Duration.ofNanos(total), Duration.ofNanos(o.tokenizeNanos()),
                    Duration.ofNanos(o.queueNanos()), Duration.ofNanos(o.inferenceNanos()));
            if (embed) {
                metrics.embedSucceeded(item);
            } else {
                metrics.predictSucceeded(item);
            }
        }
        int n = Math.max(outcomes.size(), 1);
        metrics.requestSucceeded(batch, new TeiMetrics.Timings(Duration.ofNanos(total), Duration.ofNanos(tokenize / n),
                Duration.ofNanos(queue / n), Duration.ofNanos(inference / n)));
        res.header(HeaderNames.create("x-compute-type"), "gpu+optimized");
        res.header(HeaderNames.create("x-compute-time"), Long.toString(total / 1_000_000));
        res.header(HeaderNames.create("x-compute-characters"), Long.toString(characters));
        res.header(HeaderNames.create("x-compute-tokens"), Long.toString(tokens));
        res.header(HeaderNames.create("x-total-time"), Long.toString(total / 1_000_000));
        res.header(HeaderNames.create("x-tokenization-time"), Long.toString(tokenize / n / 1_000_000));
        res.header(HeaderNames.create("x-queue-time"), Long.toString(queue / n / 1_000_000));
        res.header(HeaderNames.create("x-inference-time"), Long.toString(inference / n / 1_000_000));
    }
}
