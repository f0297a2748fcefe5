package io.tandem.server;

import io.tandem.models.BuiltinModels;
import io.tandem.models.ModelDescriptor;
import io.tandem.models.ModelFiles;
import io.tandem.models.ModelKind;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.Pooling;
import io.tandem.models.hub.HubModels;
import io.tandem.models.hub.HubSettings;
import io.tandem.models.pipeline.LoadTimes;
import io.tandem.models.pipeline.Model;
import io.tandem.ort.DeviceChoice;
import io.tandem.ort.LargeStack;
import io.tandem.ort.OrtRuntime;
import io.tandem.server.config.ModelSettings;
import io.tandem.server.config.ServerConfig;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.PriorityGate;
import io.tandem.models.infer.Tokenization;
import io.tandem.server.core.ServedModel;
import io.tandem.server.grpc.GrpcServers;
import io.tandem.server.http.AccessFilter;
import io.tandem.server.http.BodyReadFailure;
import io.tandem.server.http.ErrorType;
import io.tandem.server.http.HttpIo;
import io.tandem.server.http.HttpListeners;
import io.tandem.server.http.Surface;
import io.tandem.server.http.TeiRoutes;
import io.tandem.server.http.UnroutableRequests;
import io.tandem.server.metrics.MetricsRegistry;
import io.tandem.server.metrics.TeiMetrics;
import io.tandem.server.trace.Tracing;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.http.DirectHandler;
import io.helidon.webserver.http.DirectHandlers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The whole server in one object: loads the models, gives each its queue, and serves TEI's
 * API on the main port (and on each model's own port when asked). Usable from tests and
 * from other Java code; {@link Main} is only the command line around it.
 */
public final class Tandem implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Tandem.class.getName());
    public static final String VERSION = "0.1.0";

    private final ServerConfig config;
    private final List<ServedModel> models;
    private final Tokenization tokenization;
    private final WebServer server;
    private final GrpcServers grpc;
    private final HttpListeners listeners;
    private final Tracing tracing;

    private Tandem(ServerConfig config, List<ServedModel> models, Tokenization tokenization, WebServer server,
                   GrpcServers grpc, HttpListeners listeners, Tracing tracing) {
        this.config = config;
        this.models = models;
        this.tokenization = tokenization;
        this.server = server;
        this.grpc = grpc;
        this.listeners = listeners;
        this.tracing = tracing;
    }

    public static Tandem start(ServerConfig config) {
        return start(config, InferenceListener.NONE);
    }

    /**
     * With a listener of the embedding application's own, told what each model's core does
     * (batches formed, timings, failures) next to the metrics.
     */
    public static Tandem start(ServerConfig config, InferenceListener observer) {
        if (config.onnxruntimeNativePath() != null) {
            OrtRuntime.useNativeLibraries(Path.of(config.onnxruntimeNativePath()));
        }
        MetricsRegistry registry = new MetricsRegistry();
        List<ServedModel> models = new ArrayList<>();
        PortCheck.requireFree(config.hostname(), config.port(), "--port");
        PortCheck.requireFree(config.hostname(), config.embedPort(), "--embed-port");
        PortCheck.requireFree(config.hostname(), config.rerankPort(), "--rerank-port");
        Tokenization tokenization = new Tokenization(config.tokenizationWorkers());
        GrpcServers grpc = null;
        HttpListeners listeners = new HttpListeners(config.headerReadTimeout(), config.keepAliveTimeout(),
                config.maxConnections());
        Tracing tracing = Tracing.start(config.otlpEndpoint(), config.otlpServiceName());
        try {
            onLargeStack(() -> loadModels(config, registry, tokenization, observer, models));
            TeiRoutes routes = new TeiRoutes(registry, models, config.tokenizationWorkers(), VERSION, tracing,
                    config.task());
            ServedModel embed = find(models, "embed");
            ServedModel rerank = find(models, "rerank");
            Surface root = new Surface(embed, rerank, rerank == null);
            AccessFilter access = new AccessFilter(config.apiKey(), config.corsAllowOrigins());
            WebServerConfig.Builder builder = listeners.apply(WebServer.builder())
                    .host(config.hostname())
                    .port(config.port())
                    .shutdownHook(false)
                    .featuresDiscoverServices(false)
                    .maxPayloadSize(config.payloadLimit())
                    .shutdownGracePeriod(config.shutdownGracePeriod())
                    .directHandlers(jsonDirectHandlers())
                    .routing(r -> {
                        r.addFilter(BodyReadFailure.FILTER);
                        r.addFilter(UnroutableRequests.FILTER);
                        r.addFilter(access);
                        routes.main(r, root);
                    });
            addModelPort(builder, "embed", config.embedPort(), embed, routes, access, config, listeners);
            addModelPort(builder, "rerank", config.rerankPort(), rerank, routes, access, config, listeners);
            WebServer helidon = builder.build();
            grpc = GrpcServers.start(config, embed, rerank, tracing);
            WebServer server = helidon.start();
            if (!server.isRunning() || server.port() < 0) {
                server.stop();
                throw new IllegalStateException("cannot listen on " + config.hostname() + ":" + config.port()
                        + " (is the port in use?)");
            }
            Tandem tandem = new Tandem(config, models, tokenization, server, grpc, listeners, tracing);
            LOG.info("Tandem " + VERSION + " listening on " + config.hostname() + ":" + server.port()
                    + (config.embedPort() != null ? ", embed port " + server.port("embed") : "")
                    + (config.rerankPort() != null ? ", rerank port " + server.port("rerank") : "")
                    + grpc.describe()
                    + (tracing.enabled() ? ", request spans to " + config.otlpEndpoint() : ""));
            return tandem;
        } catch (RuntimeException e) {
            if (grpc != null) {
                grpc.shutdown();
                grpc.awaitTermination(System.nanoTime());
            }
            models.forEach(ServedModel::close);
            tokenization.close();
            listeners.close();
            tracing.close();
            throw e;
        }
    }

    /**
     * ONNX Runtime's graph optimizer recurses deeply while it opens a model; a crash in it was
     * seen on a thread with the JVM's default 1 MiB stack, so models load on a 64 MiB one.
     */
    private static void onLargeStack(Runnable work) {
        try {
            LargeStack.call("model-loader", 64L << 20, () -> {
                work.run();
                return null;
            });
        } catch (Error e) {
            // A missing class, a native library that will not link: the server must not start
            // without its models, and the command line reports it like any start failure.
            throw new IllegalStateException("loading models failed: " + e, e);
        }
    }

    private static void addModelPort(WebServerConfig.Builder builder, String name, Integer port, ServedModel model,
                                     TeiRoutes routes, AccessFilter access, ServerConfig config,
                                     HttpListeners listeners) {
        if (port == null) {
            return;
        }
        if (model == null) {
            throw new IllegalArgumentException("--" + name + "-port is set but no " + name + " model is loaded");
        }
        builder.putSocket(name, s -> listeners.apply(s).host(config.hostname()).port(port)
                .maxPayloadSize(config.payloadLimit())
                .shutdownGracePeriod(config.shutdownGracePeriod())
                .directHandlers(jsonDirectHandlers()));
        builder.routing(name, r -> {
            r.addFilter(BodyReadFailure.FILTER);
            r.addFilter(UnroutableRequests.FILTER);
            r.addFilter(access);
            routes.single(r, model);
        });
    }

    private static void loadModels(ServerConfig config, MetricsRegistry registry, Tokenization tokenization,
                                   InferenceListener observer, List<ServedModel> models) {
        DeviceChoice device = DeviceChoice.parse(config.device());
        long t0 = System.nanoTime();
        LOG.info("ONNX Runtime " + OrtRuntime.version() + " loaded in " + LoadTimes.seconds(System.nanoTime() - t0));
        ModelSettings embed = config.embed();
        ModelSettings rerank = config.rerank();
        String embedDir = embed.model();
        String rerankDir = rerank.model();
        if (config.modelId() != null) {
            ModelFiles files = ModelFiles.open(HubModels.resolve(config.modelId(), embed.revision(), HubSettings.fromEnv()));
            boolean classifier = ModelDescriptor.describe(files, null).kind() != ModelKind.EMBEDDER;
            if (classifier && rerankDir == null) {
                rerankDir = config.modelId();
            } else if (!classifier && embedDir == null) {
                embedDir = config.modelId();
            }
        }
        String embedName = embed.servedModelName();
        if (embedDir == null) {
            embedDir = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir()).toString();
            embedName = embedName != null ? embedName : BuiltinModels.BGE_SMALL_ZH;
        }
        // Two models share the device: the reranker's small, latency-bound batches go first.
        PriorityGate gate = rerankDir == null || !config.rerankPriority() ? null
                : new PriorityGate(config.rerankPriorityMaxWait(), config.rerankPriorityBatchTokens(),
                config.rerankPriorityWindow());
        Serving serving = new Serving(device, registry, tokenization, gate, observer);
        models.add(load("embed", embedDir, embedName, embed, ModelKind.EMBEDDER, serving));
        if (rerankDir != null) {
            models.add(load("rerank", rerankDir, rerank.servedModelName(), rerank, null, serving));
        }
        long total = 0;
        for (ServedModel m : models) {
            Model model = m.inference().model();
            long gpu = model.gpuMemoryAtLoad();
            total += Math.max(gpu, 0);
            LOG.info("model " + m.name() + " (" + m.role() + ", " + m.kind().name().toLowerCase() + ") on "
                    + model.device() + (gpu >= 0 ? ", " + gpu / (1 << 20) + " MiB of GPU memory at load" : "")
                    + (model.fallbackReason() != null ? ": " + model.fallbackReason() : ""));
        }
        if (total > 0) {
            LOG.info("GPU memory taken by the models at load: " + total / (1 << 20) + " MiB in total");
        }
    }

    /** What every served model shares: the device, metrics, tokenizer threads, the gate and the observer. */
    private record Serving(DeviceChoice device, MetricsRegistry registry, Tokenization tokenization, PriorityGate gate,
                           InferenceListener observer) {
    }

    /**
     * Loads a model folder or hub id, checks it fits its slot and its settings, and starts its
     * inference core with its metrics.
     */
    private static ServedModel load(String role, String dir, String servedName, ModelSettings settings,
                                    ModelKind required, Serving serving) {
        DeviceChoice device = serving.device();
        if ("splade".equals(settings.pooling())) {
            // bge-m3's lexical weights come from its own head in Tandem's export, not from SPLADE.
            throw new ModelLoadException("--pooling splade is not supported: for bge-m3 sparse weights export the "
                    + "model with models/export/tandem_export.py export-m3 and use /embed_sparse");
        }
        Pooling pooling = settings.pooling() == null ? null : Pooling.parse(settings.pooling());
        long t0 = System.nanoTime();
        LOG.info(role + ": loading " + dir);
        // A folder stays as it is; a hub id (owner/name) becomes its snapshot in the HF cache.
        Path local = HubModels.resolve(dir, settings.revision(), HubSettings.fromEnv());
        if (!local.equals(Path.of(dir))) {
            // A hub snapshot folder is named by its commit: /info's model_sha reports that commit.
            settings = settings.withRevision(local.getFileName().toString());
        }
        long hub = System.nanoTime() - t0;
        boolean fromHub = !local.equals(Path.of(dir));
        Model model = Model.load(servedName != null ? servedName : dir, local,
                new ModelOptions(device, settings.gpuMemLimit(), pooling, 0).withCudaGraphs(settings.cudaGraphs()),
                role.equals("embed") ? ModelKind.EMBEDDER : ModelKind.RERANKER);
        LOG.info(role + ": " + (fromHub ? "hub " + LoadTimes.seconds(hub) + ", " : "")
                + model.loadTimes().describe(model.device()));
        ModelKind kind = model.descriptor().kind();
        boolean fits = required == ModelKind.EMBEDDER ? kind == ModelKind.EMBEDDER : kind != ModelKind.EMBEDDER;
        if (!fits) {
            model.close();
            throw new ModelLoadException("--" + role + "-model " + dir + " is a " + kind.name().toLowerCase()
                    + ", not " + (role.equals("embed") ? "an embedder" : "a reranker or classifier"));
        }
        if (settings.defaultPromptName() != null && !model.descriptor().prompts().containsKey(settings.defaultPromptName())) {
            model.close();
            throw new ModelLoadException("--default-prompt-name " + settings.defaultPromptName()
                    + " is not one of the model's prompts " + model.descriptor().prompts().keySet());
        }
        if (settings.dtype() != null && !settings.dtype().equals(model.descriptor().dtype())) {
            LOG.warning("--dtype " + settings.dtype() + " is ignored: " + dir + " was exported as "
                    + model.descriptor().dtype() + " (export again with --fp16/--dynamo to change it)");
        }
        LOG.info(role + ": loaded " + model.name() + " in " + LoadTimes.seconds(System.nanoTime() - t0));
        TeiMetrics metrics = new TeiMetrics(serving.registry(), metricsName(servedName, dir, local),
                model.descriptor().maxInputLength());
        if (model.gpuMemoryAtLoad() >= 0) {
            metrics.setGpuMemoryBytes(model.gpuMemoryAtLoad());
        }
        Inference inference = Inference.builder(model).settings(settings.inference())
                .listener(InferenceListener.both(metrics, serving.observer()))
                .tokenization(serving.tokenization()).gate(serving.gate(), role.equals("rerank")).start();
        metrics.trackQueueSize(inference::queueSize);
        return new ServedModel(role, inference, settings);
    }

    /**
     * The {@code model} label of a model's metrics. /metrics is public even with --api-key, so a
     * model given as a folder is labelled with the folder's name, never its path; a hub id and a
     * --served-model-name are public names already.
     */
    static String metricsName(String servedName, String dir, Path local) {
        if (servedName != null) {
            return servedName;
        }
        if (!local.equals(Path.of(dir))) {
            return dir; // a hub id: its snapshot is elsewhere
        }
        Path name = Path.of(dir).toAbsolutePath().normalize().getFileName();
        return name == null ? "model" : name.toString();
    }

    /** Helidon answers 413 and 503 itself, before routing: in TEI's JSON error body here too. */
    private static DirectHandlers jsonDirectHandlers() {
        DirectHandler handler = (req, type, status, headers, message) -> {
            String text = status.code() == 413 ? "Failed to buffer the request body: length limit exceeded"
                    : message == null || message.isBlank() ? status.reasonPhrase() : message;
            ErrorType errorType = status.code() == 503 ? ErrorType.Overloaded : ErrorType.Validation;
            return DirectHandler.TransportResponse.builder()
                    .status(status.code() == 503 ? Status.TOO_MANY_REQUESTS_429 : status)
                    .header(HeaderNames.CONTENT_TYPE, "application/json")
                    .entity(HttpIo.errorBytes(text, errorType))
                    .build();
        };
        DirectHandlers.Builder builder = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            builder.addHandler(type, handler);
        }
        return builder.build();
    }

    private static ServedModel find(List<ServedModel> models, String role) {
        return models.stream().filter(m -> m.role().equals(role)).findFirst().orElse(null);
    }

    public int port() {
        return server.port();
    }

    /** The port of a named listener ("embed" or "rerank"). */
    public int port(String socket) {
        return server.port(socket);
    }

    /** The gRPC port over both models (--grpc-port), or -1 when it is off. */
    public int grpcPort() {
        return grpc.port(GrpcServers.MAIN);
    }

    /** The port of a model's own gRPC listener ("embed" or "rerank"), or -1 when it is off. */
    public int grpcPort(String model) {
        return grpc.port(model);
    }

    public List<ServedModel> models() {
        return models;
    }

    public ServerConfig config() {
        return config;
    }

    /**
     * Graceful stop: no new connections, in-flight requests finish within the grace period
     * (their inputs keep running in the queues), then the queues drain and the models close.
     */
    @Override
    public void close() {
        long graceEnds = System.nanoTime() + config.shutdownGracePeriod().toNanos();
        grpc.shutdown(); // both front doors stop taking calls at once, then share the grace period
        server.stop();
        grpc.awaitTermination(graceEnds);
        listeners.close();
        long deadline = config.shutdownGracePeriod().toNanos();
        for (ServedModel m : models) {
            m.inference().drain(deadline);
        }
        models.forEach(ServedModel::close);
        tokenization.close();
        tracing.close(); // last: the spans of the requests that finished above go out first
    }
}
