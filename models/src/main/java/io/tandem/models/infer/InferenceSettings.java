package io.tandem.models.infer;

import java.time.Duration;

/**
 * The limits and defaults one model is served with, as plain values: the server fills them
 * from its flags, the library from {@link #library()}.
 *
 * @param maxConcurrentRequests inputs in flight at once; more are refused as overloaded
 * @param maxBatchTokens        token budget of one batch (rows × longest, or real tokens when packed); 0: the
 *                              device's default
 * @param maxBatchRequests      most inputs in one batch
 * @param maxClientBatchSize    most inputs in one request
 * @param autoTruncate          what a request that does not say {@code truncate} gets
 * @param defaultPrompt         text put before every input; null for none
 * @param defaultPromptName     key of the model's prompt put before every input; null for none
 * @param requestTimeout        how long a request may wait for permits and its batches; null: no limit
 * @param maxResponseBytes      the largest answer a request may ask for (estimated as JSON), refused before any
 *                              inference
 */
public record InferenceSettings(int maxConcurrentRequests, int maxBatchTokens, int maxBatchRequests,
                                int maxClientBatchSize, boolean autoTruncate, String defaultPrompt,
                                String defaultPromptName, Duration requestTimeout, long maxResponseBytes) {

    /** TEI's token budget, for a GPU. */
    public static final int GPU_BATCH_TOKENS = 16384;
    /**
     * The CPU's: a batch whose activations stay in the caches. Measured on 2 cores (bench/cpu):
     * 256-1024 tokens run at the same speed, 2048 at 0.9×, 16384 at 0.3×.
     */
    public static final int CPU_BATCH_TOKENS = 1024;

    /** A caller in the same process: any list size, no admission limit, truncation on, the device's budget. */
    public static InferenceSettings library() {
        return library(0);
    }

    /** The token budget for a model on this device ("cpu" or "cuda:N"). */
    public static int defaultBatchTokens(String device) {
        return device.startsWith("cuda") ? GPU_BATCH_TOKENS : CPU_BATCH_TOKENS;
    }

    /** The same settings with the device's budget where none was given. */
    InferenceSettings forDevice(String device) {
        return maxBatchTokens > 0 ? this : new InferenceSettings(maxConcurrentRequests, defaultBatchTokens(device),
                maxBatchRequests, maxClientBatchSize, autoTruncate, defaultPrompt, defaultPromptName, requestTimeout,
                maxResponseBytes);
    }

    public static InferenceSettings library(int maxBatchTokens) {
        return new InferenceSettings(Integer.MAX_VALUE, maxBatchTokens, Integer.MAX_VALUE, Integer.MAX_VALUE, true,
                null, null, null, Long.MAX_VALUE);
    }
}
