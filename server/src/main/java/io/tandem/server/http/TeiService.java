package io.tandem.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.tandem.models.ModelKind;
import io.tandem.models.infer.InferenceError;
import io.tandem.server.metrics.MetricsRegistry;
import io.tandem.server.trace.Tracing;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * TEI's routes for one surface: at the root (both models), under /models/{name} (one model,
 * picked by the path) or on a model's own port. Handlers only map JSON to the core's requests
 * and answers back; failures go to {@link HttpErrors}.
 */
final class TeiService implements HttpService {

    @FunctionalInterface
    interface SurfaceHandler {
        void handle(ServerRequest req, ServerResponse res, Surface surface);
    }

    private final String prefix;
    private final Function<ServerRequest, Surface> surface;
    private final Function<ServerRequest, Predicate<Map<String, String>>> metricsFilter;
    private final EmbedRoutes embeds;
    private final RankRoutes ranks;
    private final CohereRerank cohere = new CohereRerank();
    private final TokenizerRoutes tokenizers;
    private final InfoRoutes info;
    private final Tracing tracing;
    private final boolean similarityTask;

    /**
     * @param prefix        "" or a path pattern such as /models/{name}
     * @param surface       the models a request addresses; null: no such model (404)
     * @param metricsFilter which series /metrics shows; null for all
     * @param similarityTask TASK=sentence-similarity: POST / and /invocations of an embedder are /similarity
     */
    TeiService(String prefix, Function<ServerRequest, Surface> surface,
               Function<ServerRequest, Predicate<Map<String, String>>> metricsFilter,
               EmbedRoutes embeds, RankRoutes ranks, TokenizerRoutes tokenizers, InfoRoutes info, Tracing tracing,
               boolean similarityTask) {
        this.prefix = prefix;
        this.surface = surface;
        this.metricsFilter = metricsFilter;
        this.embeds = embeds;
        this.ranks = ranks;
        this.tokenizers = tokenizers;
        this.info = info;
        this.tracing = tracing;
        this.similarityTask = similarityTask;
    }

    @Override
    public void routing(HttpRules rules) {
        Routes r = new Routes(rules, tracing);
        r.post(prefix + "/embed", on(embeds::embed));
        r.post(prefix + "/embed_all", on(embeds::embedAll));
        r.post(prefix + "/embed_sparse", on(embeds::embedSparse));
        r.post(prefix + "/similarity", on(embeds::similarity));
        r.post(prefix + "/v1/embeddings", on(embeds::openAi));
        r.post(prefix + "/embeddings", on(embeds::openAi));
        r.post(prefix + "/rerank", on(ranks::rerank));
        r.post(prefix + "/predict", on(ranks::predict));
        r.post(prefix + "/v1/rerank", on(cohere::rerank));
        r.post(prefix + "/v2/rerank", on(cohere::rerank));
        r.post(prefix + "/tokenize", on(tokenizers::tokenize));
        r.post(prefix + "/decode", on(tokenizers::decode));
        r.get(prefix + "/info", on(info::info));
        Handler health = on(info::health);
        r.get(prefix + "/health", health);
        r.get(prefix + "/ping", health);
        r.get(prefix.isEmpty() ? "/" : prefix, health);
        r.get(prefix + "/metrics", (req, res) -> info.metrics(req, res,
                metricsFilter == null ? null : metricsFilter.apply(req)));
        // TEI's SageMaker-style routes answer by the model's kind (and TASK).
        Handler byKind = on((req, res, s) -> sageMaker(s).handle(req, res, s));
        r.post(prefix.isEmpty() ? "/" : prefix, byKind);
        r.post(prefix + "/invocations", byKind);
        r.methodNotAllowed();
    }

    /**
     * TEI's rule for POST / and /invocations: a classifier (several labels) predicts, a reranker
     * ranks, an embedder embeds, or answers as /similarity when TASK is sentence-similarity (the
     * Hugging Face SageMaker task of that name). TEI's third case, SPLADE pooling to
     * /embed_sparse, cannot occur: Tandem refuses --pooling splade.
     */
    private SurfaceHandler sageMaker(Surface s) {
        if (s.embedder() != null) {
            return similarityTask ? embeds::similarity : embeds::embed;
        }
        if (s.reranker() != null && s.reranker().kind() == ModelKind.CLASSIFIER) {
            return ranks::predict;
        }
        return ranks::rerank;
    }

    private Handler on(SurfaceHandler handler) {
        return (req, res) -> {
            Surface s = surface.apply(req);
            if (s == null) {
                throw new TeiError(404, ErrorType.Validation,
                        "no model named `" + req.path().pathParameters().first("name").orElse("") + "`");
            }
            try {
                handler.handle(req, res, s);
            } catch (InferenceError e) {
                if (e.kind() == InferenceError.Kind.CANCELLED) {
                    // The client hung up: nobody reads an answer, and this connection is over.
                    throw new CloseConnectionException("client left before its answer");
                }
                throw e;
            } catch (TeiError | CloseConnectionException e) {
                throw e; // CloseConnectionException: the peer went away or was too slow, nobody to answer
            } catch (RuntimeException | OutOfMemoryError e) {
                // Our bug, a native failure or no memory left: the log gets the details, the client no internals.
                throw InferenceError.from(e);
            } finally {
                FramedHttp1.stopWatchingClient();
            }
        };
    }

    /** The metrics of one model only. */
    static Predicate<Map<String, String>> modelOnly(String name) {
        return MetricsRegistry.labelEquals("model", name);
    }

    /**
     * Routing that remembers each path's methods, so that another method on a known path gets
     * TEI's (axum's) 405 with an {@code allow} header instead of a 404; GET routes answer HEAD too.
     */
    static final class Routes {
        private final HttpRules rules;
        private final Map<String, Set<String>> methods = new LinkedHashMap<>();
        private final Tracing tracing;

        Routes(HttpRules rules) {
            this(rules, Tracing.OFF);
        }

        /** With a server span around each POST route when {@code tracing} is on. */
        Routes(HttpRules rules, Tracing tracing) {
            this.rules = rules;
            this.tracing = tracing;
        }

        void get(String path, Handler handler) {
            rules.get(path, handler);
            rules.head(path, handler);
            allow(path, "GET", "HEAD");
        }

        void post(String path, Handler handler) {
            rules.post(path, HttpSpans.traced(tracing, "POST", path, handler));
            allow(path, "POST");
        }

        private void allow(String path, String... names) {
            methods.computeIfAbsent(path, p -> new TreeSet<>()).addAll(List.of(names));
        }

        /** Registered last: only requests that no route above took reach these. */
        void methodNotAllowed() {
            methods.forEach((path, names) -> {
                String allow = String.join(",", names);
                rules.any(path, (req, res) -> {
                    res.status(405);
                    res.header(HeaderNames.ALLOW, allow);
                    res.send();
                });
            });
        }
    }
}
