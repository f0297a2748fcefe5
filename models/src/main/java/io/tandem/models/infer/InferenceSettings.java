package io.tandem.models.infer;

import java.time.Duration;

/**
 * The limits and defaults one model is served with, as plain values: the server fills them
 * from its flags, the library from {@link #library()}.
 *
 * @param maxConcurrentRequests inputs in flight at once; more are refused as overloaded
 * @param maxBatchTokens        token budget of one batch (rows × longest, or real tokens when packed)
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

    /** TEI's default token budget, also the library's. */
    public static final int DEFAULT_BATCH_TOKENS = 16384;

    /** A caller in the same process: any list size, no admission limit, truncation on. */
    public static InferenceSettings library() {
        return library(DEFAULT_BATCH_TOKENS);
    }

    public static InferenceSettings library(int maxBatchTokens) {
        return new InferenceSettings(Integer.MAX_VALUE, maxBatchTokens, Integer.MAX_VALUE, Integer.MAX_VALUE, true,
                null, null, null, Long.MAX_VALUE);
    }
}
