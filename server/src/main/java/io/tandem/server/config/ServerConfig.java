package io.tandem.server.config;

import java.time.Duration;
import java.util.List;

/**
 * Everything the command line and environment decided, after defaults and validation.
 *
 * @param embedPort null: no embedder-only listener
 * @param rerankPort null: no reranker-only listener
 * @param modelId TEI's {@code --model-id}: one model whose kind is found when it loads; null if not set
 * @param corsAllowOrigins empty: any origin
 * @param device auto, cpu, cuda or cuda:N
 * @param onnxruntimeNativePath a folder with ONNX Runtime's native libraries already extracted; null if not set
 * @param rerankPriority with two models, the reranker's inputs go first (see core.PriorityGate)
 * @param rerankPriorityMaxWait longest the embedder waits while reranker inputs are pending
 * @param rerankPriorityBatchTokens the embedder's token budget per batch while reranks are recent
 * @param rerankPriorityWindow how long after the last reranker input the embedder keeps that budget
 * @param grpcPort null: no gRPC listener; else TEI's gRPC API over both models (0: any free port)
 * @param embedGrpcPort null: no embedder-only gRPC listener
 * @param rerankGrpcPort null: no reranker-only gRPC listener
 * @param headerReadTimeout longest a request head may take from its first byte, and a body may stall; zero: none
 * @param keepAliveTimeout longest an open connection may wait for its next request; zero: none
 * @param maxConnections open connections per listener; more wait in the accept queue
 * @param otlpEndpoint null: no tracing; else the OTLP/gRPC collector request spans go to
 * @param otlpServiceName the spans' service.name
 * @param task TEI's TASK: "sentence-similarity" makes an embedder's POST / and /invocations /similarity; null if not set
 * @param warnings non-fatal notes for the start-up log
 */
public record ServerConfig(
        String hostname,
        int port,
        Integer embedPort,
        Integer rerankPort,
        String modelId,
        String apiKey,
        long payloadLimit,
        boolean jsonOutput,
        List<String> corsAllowOrigins,
        String device,
        int tokenizationWorkers,
        Duration shutdownGracePeriod,
        String onnxruntimeNativePath,
        ModelSettings embed,
        ModelSettings rerank,
        boolean rerankPriority,
        Duration rerankPriorityMaxWait,
        int rerankPriorityBatchTokens,
        Duration rerankPriorityWindow,
        Integer grpcPort,
        Integer embedGrpcPort,
        Integer rerankGrpcPort,
        Duration headerReadTimeout,
        Duration keepAliveTimeout,
        int maxConnections,
        String otlpEndpoint,
        String otlpServiceName,
        String task,
        List<String> warnings) {

    public ServerConfig {
        corsAllowOrigins = List.copyOf(corsAllowOrigins);
        warnings = List.copyOf(warnings);
    }
}
