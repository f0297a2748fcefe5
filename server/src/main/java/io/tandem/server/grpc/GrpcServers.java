package io.tandem.server.grpc;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.tandem.server.config.ServerConfig;
import io.tandem.server.core.ServedModel;
import io.tandem.server.http.Surface;
import io.tandem.server.trace.Tracing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * TEI's gRPC API (tei.v1) next to the HTTP one, in the same process and over the same cores:
 * on --grpc-port for both models, and on --embed-grpc-port / --rerank-grpc-port for one model
 * each, as the HTTP model ports. Auth (--api-key) and the payload limit are HTTP's; admission,
 * limits and metrics are the core's, so a call counts and is refused exactly as over HTTP.
 */
public final class GrpcServers {

    /** The listener over both models; the others are named by their model's role. */
    public static final String MAIN = "grpc";

    /**
     * grpc-java logs a message it cannot take (over the size limit, malformed) as a WARNING with a
     * stack trace, though the client is answered with its status and the fault is the client's
     * (HTTP's 413 is not logged either). Held here: the logging framework keeps loggers weakly.
     */
    private static final Logger REFUSED_MESSAGES =
            Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

    static {
        REFUSED_MESSAGES.setLevel(Level.SEVERE);
    }

    private final ExecutorService executor;
    private final Map<String, Server> servers;

    private GrpcServers(ExecutorService executor, Map<String, Server> servers) {
        this.executor = executor;
        this.servers = servers;
    }

    /** Starts the listeners the configuration asks for (none: nothing runs). */
    public static GrpcServers start(ServerConfig config, ServedModel embed, ServedModel rerank) {
        return start(config, embed, rerank, Tracing.OFF);
    }

    /** With a server span per call when {@code tracing} is on. */
    public static GrpcServers start(ServerConfig config, ServedModel embed, ServedModel rerank, Tracing tracing) {
        Map<String, Surface> wanted = new LinkedHashMap<>();
        Map<String, Integer> ports = new LinkedHashMap<>();
        if (config.grpcPort() != null) {
            wanted.put(MAIN, new Surface(embed, rerank, rerank == null));
            ports.put(MAIN, config.grpcPort());
        }
        single(wanted, ports, "embed", config.embedGrpcPort(), embed, new Surface(embed, null, false));
        single(wanted, ports, "rerank", config.rerankGrpcPort(), rerank, new Surface(null, rerank, false));
        // The core blocks a thread per call until its batch ran: cheap on virtual threads.
        ExecutorService executor = wanted.isEmpty() ? null : Executors.newVirtualThreadPerTaskExecutor();
        GrpcServers started = new GrpcServers(executor, new LinkedHashMap<>());
        try {
            for (var e : wanted.entrySet()) {
                GrpcSurface surface = new GrpcSurface(e.getValue(), executor, config.tokenizationWorkers());
                started.servers.put(e.getKey(), listen(config, ports.get(e.getKey()), surface, executor, tracing));
            }
        } catch (RuntimeException e) {
            started.shutdown();
            started.awaitTermination(System.nanoTime());
            throw e;
        }
        return started;
    }

    private static void single(Map<String, Surface> wanted, Map<String, Integer> ports, String role, Integer port,
                               ServedModel model, Surface surface) {
        if (port == null) {
            return;
        }
        if (model == null) {
            throw new IllegalArgumentException("--" + role + "-grpc-port is set but no " + role + " model is loaded");
        }
        wanted.put(role, surface);
        ports.put(role, port);
    }

    private static Server listen(ServerConfig config, int port, GrpcSurface surface, ExecutorService executor,
                                 Tracing tracing) {
        List<ServerInterceptor> interceptors = new ArrayList<>();
        interceptors.add(new ComputeHeaders());
        if (config.apiKey() != null && !config.apiKey().isEmpty()) {
            interceptors.add(new BearerAuth(config.apiKey())); // added last: runs first
        }
        if (tracing.enabled()) {
            interceptors.add(new GrpcSpans(tracing)); // outermost: refused calls get their span too
        }
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(config.hostname(), port))
                .executor(executor)
                // The HTTP body limit, for each message: a larger one is refused with RESOURCE_EXHAUSTED.
                .maxInboundMessageSize((int) Math.min(config.payloadLimit(), Integer.MAX_VALUE))
                // Reflection answers without the key, as in TEI (it only describes tei.v1).
                .addService(ProtoReflectionServiceV1.newInstance());
        for (BindableService service : List.of(new InfoService(surface), new EmbedService(surface),
                new PredictService(surface), new RerankService(surface), new TokenizeService(surface))) {
            builder.addService(ServerInterceptors.intercept(service, interceptors));
        }
        try {
            return builder.build().start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen for gRPC on " + config.hostname() + ":" + port
                    + " (is the port in use?)", e);
        }
    }

    /** The bound port of a listener ({@link #MAIN}, "embed" or "rerank"), or -1 when it is off. */
    public int port(String name) {
        Server s = servers.get(name);
        return s == null ? -1 : s.getPort();
    }

    /** A line for the start-up log, or "" when no gRPC listener runs. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        servers.forEach((name, s) -> parts.add((name.equals(MAIN) ? "gRPC port " : name + " gRPC port ") + s.getPort()));
        return parts.isEmpty() ? "" : ", " + String.join(", ", parts);
    }

    /** No new calls from now; calls in flight go on. */
    public void shutdown() {
        servers.values().forEach(Server::shutdown);
    }

    /**
     * Waits for the calls in flight until the deadline ({@link System#nanoTime()} based), then
     * cancels what is left.
     */
    public void awaitTermination(long deadlineNanos) {
        for (Server s : servers.values()) {
            try {
                if (!s.awaitTermination(Math.max(deadlineNanos - System.nanoTime(), 0), TimeUnit.NANOSECONDS)) {
                    s.shutdownNow();
                }
            } catch (InterruptedException e) {
                s.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        if (executor != null) {
            executor.shutdown(); // no wait: work still in a core finishes there and is dropped
        }
    }
}
