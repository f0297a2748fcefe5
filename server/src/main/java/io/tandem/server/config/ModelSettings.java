package io.tandem.server.config;

import io.tandem.models.infer.InferenceSettings;

import java.time.Duration;

/**
 * Settings for one served model. Each may be given generally ({@code --max-batch-tokens}) or for
 * one model ({@code --embed-max-batch-tokens}); see {@link Flags}.
 *
 * @param model local model directory ({@code --embed-model}/{@code --rerank-model}); null if not set
 * @param servedModelName null: derive from the model later
 * @param pooling cls, mean, lasttoken or splade; null: from the model's own config
 * @param maxBatchTokens null: the device's default
 * @param maxBatchRequests null: no cap
 * @param gpuMemLimit bytes; null: unlimited
 * @param cudaGraphs small batches at fixed shapes, replayed as CUDA graphs ({@code --cuda-graphs})
 * @param dtype float32 or float16; null: from the model
 * @param requestTimeout how long a request may wait in all
 * @param maxResponseBytes the largest answer one request may ask for
 */
public record ModelSettings(
        String model,
        String revision,
        String servedModelName,
        String pooling,
        int maxConcurrentRequests,
        Integer maxBatchTokens,
        Integer maxBatchRequests,
        int maxClientBatchSize,
        boolean autoTruncate,
        String defaultPrompt,
        String defaultPromptName,
        Long gpuMemLimit,
        boolean cudaGraphs,
        String dtype,
        Duration requestTimeout,
        long maxResponseBytes) {

    /** The limits and defaults the inference core applies. */
    public InferenceSettings inference() {
        return new InferenceSettings(maxConcurrentRequests, maxBatchTokens == null ? 0 : maxBatchTokens,
                maxBatchRequests == null ? Integer.MAX_VALUE : maxBatchRequests, maxClientBatchSize, autoTruncate,
                defaultPrompt, defaultPromptName, requestTimeout, maxResponseBytes);
    }

    /** The same settings for the revision actually served (a hub model's resolved commit). */
    public ModelSettings withRevision(String resolved) {
        return new ModelSettings(model, resolved, servedModelName, pooling, maxConcurrentRequests, maxBatchTokens,
                maxBatchRequests, maxClientBatchSize, autoTruncate, defaultPrompt, defaultPromptName, gpuMemLimit, cudaGraphs,
                dtype, requestTimeout, maxResponseBytes);
    }
}
