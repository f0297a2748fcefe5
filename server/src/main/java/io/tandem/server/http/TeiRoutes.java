package io.tandem.server.http;

import io.tandem.models.ModelKind;
import io.tandem.server.core.InferenceRunner;
import io.tandem.server.core.ServedModel;
import io.tandem.server.metrics.MetricsRegistry;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * TEI's routes for a set of models. The same routes are registered at the root (both
 * models), under /models/{name} (one model) and on each model's own port.
 */
public final class TeiRoutes {

    private final EmbedHandlers embeds;
    private final RankHandlers ranks;
    private final TokenizerHandlers tokenizers;
    private final InfoHandlers info;
    private final List<ServedModel> models;

    public TeiRoutes(InferenceRunner runner, MetricsRegistry registry, List<ServedModel> models,
                     int tokenizationWorkers, String version) {
        this.embeds = new EmbedHandlers(runner);
        this.ranks = new RankHandlers(runner, embeds);
        this.tokenizers = new TokenizerHandlers(runner);
        int permits = models.stream().mapToInt(m -> m.settings().maxConcurrentRequests()).max().orElse(0);
        this.info = new InfoHandlers(new InfoHandlers.ServerInfo(permits, tokenizationWorkers, version), registry);
        this.models = models;
    }

    /** The main listener: every route at the root, and each model's routes under /models/{name}. */
    public void main(HttpRouting.Builder routing, Surface root) {
        Routes r = new Routes(routing);
        r.get("/models", (req, res) -> info.models(req, res, models, root.biEncoderRerank()));
        r.get("/api-doc/openapi.json", info::openApi);
        SwaggerUi.register(routing);
        register(r, "", req -> root, null);
        register(r, "/models/{name}", this::byName, req -> {
            ServedModel m = named(req);
            return m == null ? l -> false : MetricsRegistry.labelEquals("model", m.name());
        });
        r.methodNotAllowed();
    }

    /** A model's own port: exactly a single-model TEI server for that model. */
    public void single(HttpRouting.Builder routing, ServedModel model) {
        Surface surface = model.kind() == ModelKind.EMBEDDER
                ? new Surface(model, null, false) : new Surface(null, model, false);
        Routes r = new Routes(routing);
        r.get("/api-doc/openapi.json", info::openApi);
        SwaggerUi.register(routing);
        register(r, "", req -> surface, req -> MetricsRegistry.labelEquals("model", model.name()));
        r.methodNotAllowed();
    }

    /**
     * Routing that remembers each path's methods, so that another method on a known path gets
     * TEI's (axum's) 405 with an {@code allow} header instead of a 404; GET routes answer HEAD too.
     */
    private static final class Routes {
        private final HttpRouting.Builder routing;
        private final Map<String, Set<String>> methods = new LinkedHashMap<>();

        Routes(HttpRouting.Builder routing) {
            this.routing = routing;
        }

        void get(String path, Handler handler) {
            routing.get(path, handler);
            routing.head(path, handler);
            allow(path, "GET", "HEAD");
        }

        void post(String path, Handler handler) {
            routing.post(path, handler);
            allow(path, "POST");
        }

        private void allow(String path, String... names) {
            methods.computeIfAbsent(path, p -> new TreeSet<>()).addAll(List.of(names));
        }

        /** Registered last: only requests that no route above took reach these. */
        void methodNotAllowed() {
            methods.forEach((path, names) -> {
                String allow = String.join(",", names);
                routing.any(path, (req, res) -> {
                    res.status(405);
                    res.header(HeaderNames.ALLOW, allow);
                    res.send();
                });
            });
        }
    }

    private void register(Routes r, String prefix, Function<ServerRequest, Surface> surface,
                          Function<ServerRequest, Predicate<Map<String, String>>> metricsFilter) {
        r.post(prefix + "/embed", on(surface, embeds::embed));
        r.post(prefix + "/embed_all", on(surface, embeds::embedAll));
        r.post(prefix + "/embed_sparse", on(surface, embeds::embedSparse));
        r.post(prefix + "/similarity", on(surface, embeds::similarity));
        r.post(prefix + "/v1/embeddings", on(surface, embeds::openAi));
        r.post(prefix + "/embeddings", on(surface, embeds::openAi));
        r.post(prefix + "/rerank", on(surface, ranks::rerank));
        r.post(prefix + "/predict", on(surface, ranks::predict));
        r.post(prefix + "/tokenize", on(surface, tokenizers::tokenize));
        r.post(prefix + "/decode", on(surface, tokenizers::decode));
        r.get(prefix + "/info", on(surface, info::info));
        Handler health = on(surface, info::health);
        r.get(prefix + "/health", health);
        r.get(prefix + "/ping", health);
        r.get(prefix.isEmpty() ? "/" : prefix, health);
        r.get(prefix + "/metrics", (req, res) -> info.metrics(req, res,
                metricsFilter == null ? null : metricsFilter.apply(req)));
        Handler byKind = on(surface, (req, res, s) -> {
            if (s.embedder() == null || s.embedder().kind() != ModelKind.EMBEDDER) {
                if (s.reranker() != null && s.reranker().kind() == ModelKind.CLASSIFIER) {
                    ranks.predict(req, res, s);
                } else {
                    ranks.rerank(req, res, s);
                }
            } else {
                embeds.embed(req, res, s);
            }
        });
        r.post(prefix.isEmpty() ? "/" : prefix, byKind);
        r.post(prefix + "/invocations", byKind);
    }

    @FunctionalInterface
    private interface SurfaceHandler {
        void handle(ServerRequest req, ServerResponse res, Surface surface);
    }

    private static Handler on(Function<ServerRequest, Surface> surface, SurfaceHandler handler) {
        return (req, res) -> {
            Surface s = surface.apply(req);
            if (s == null) {
                HttpIo.sendError(res, new TeiError(404, ErrorType.Validation,
                        "no model named `" + req.path().pathParameters().first("name").orElse("") + "`", null), false);
                return;
            }
            handler.handle(req, res, s);
        };
    }

    private Surface byName(ServerRequest req) {
        ServedModel m = named(req);
        if (m == null) {
            return null;
        }
        return m.kind() == ModelKind.EMBEDDER ? new Surface(m, null, false) : new Surface(null, m, false);
    }

    /** A model by its role ("embed", "rerank"), served name, or the last part of that name. */
    private ServedModel named(ServerRequest req) {
        String name = req.path().pathParameters().first("name").orElse("");
        for (ServedModel m : models) {
            String shortName = m.name().substring(m.name().lastIndexOf('/') + 1);
            if (m.role().equals(name) || m.name().equals(name) || shortName.equals(name)) {
                return m;
            }
        }
        return null;
    }
}
