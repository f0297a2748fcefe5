package io.tandem.server.http;

import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.tandem.server.BuildInfo;
import io.tandem.server.core.ServedModel;
import io.tandem.server.metrics.MetricsRegistry;
import io.tandem.server.trace.Tracing;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The HTTP surfaces of a set of models: TEI's routes at the root (both models), under
 * /models/{name} (one model) and on each model's own port, each a {@link TeiService} over the
 * same handlers, with the central error handler.
 */
public final class TeiRoutes {

    private final EmbedRoutes embeds = new EmbedRoutes();
    private final RankRoutes ranks = new RankRoutes();
    private final TokenizerRoutes tokenizers = new TokenizerRoutes();
    private final InfoRoutes info;
    private final List<ServedModel> models;
    private final Tracing tracing;
    private final boolean similarityTask;

    /** The value of TEI's TASK environment variable that routes POST / to /similarity. */
    public static final String SENTENCE_SIMILARITY = "sentence-similarity";

    public TeiRoutes(MetricsRegistry registry, List<ServedModel> models, int tokenizationWorkers, String version) {
        this(registry, models, tokenizationWorkers, version, Tracing.OFF, null);
    }

    /**
     * @param tracing request spans, or {@link Tracing#OFF}
     * @param task TEI's TASK (--task): "sentence-similarity" makes an embedder's POST / and
     *     /invocations answer as /similarity; null or anything else: as /embed
     */
    public TeiRoutes(MetricsRegistry registry, List<ServedModel> models, int tokenizationWorkers, String version,
                     Tracing tracing, String task) {
        this.info = new InfoRoutes(new InfoRoutes.ServerInfo(tokenizationWorkers, version, BuildInfo.load()),
                registry);
        this.models = models;
        this.tracing = tracing;
        this.similarityTask = SENTENCE_SIMILARITY.equals(task);
    }

    /** The main listener: every route at the root, and each model's routes under /models/{name}. */
    public void main(HttpRouting.Builder routing, Surface root) {
        HttpErrors.register(routing);
        TeiService.Routes r = new TeiService.Routes(routing);
        r.get("/models", (req, res) -> info.models(req, res, models, root.biEncoderRerank()));
        r.get("/api-doc/openapi.json", info::openApi);
        SwaggerUi.register(routing);
        r.methodNotAllowed();
        routing.register(service("", req -> root, null));
        routing.register(service("/models/{name}", req -> {
            ServedModel m = named(req);
            return m == null ? null : Surface.of(m);
        }, req -> {
            ServedModel m = named(req);
            return m == null ? l -> false : TeiService.modelOnly(m.name());
        }));
    }

    /** A model's own port: exactly a single-model TEI server for that model. */
    public void single(HttpRouting.Builder routing, ServedModel model) {
        HttpErrors.register(routing);
        TeiService.Routes r = new TeiService.Routes(routing);
        r.get("/api-doc/openapi.json", info::openApi);
        SwaggerUi.register(routing);
        r.methodNotAllowed();
        Surface surface = Surface.of(model);
        routing.register(service("", req -> surface, req -> TeiService.modelOnly(model.name())));
    }

    private TeiService service(String prefix, Function<ServerRequest, Surface> surface,
                               Function<ServerRequest, Predicate<Map<String, String>>> metricsFilter) {
        return new TeiService(prefix, surface, metricsFilter, embeds, ranks, tokenizers, info, tracing, similarityTask);
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
