package io.tandem.server.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;

/** The JSON bodies Tandem answers with, field for field in TEI's (or OpenAI's) order. */
final class Bodies {

    private Bodies() {
    }

    /** TEI's error body. */
    record TeiError(String error, @JsonProperty("error_type") ErrorType errorType) {
    }

    /** OpenAI's error body, on the OpenAI routes. */
    record OpenAiError(String message, int code, String type) {
    }

    /** One weight of a sparse vector (/embed_sparse). */
    record SparseValue(int index, float value) {
    }

    /** One place of /rerank's answer; {@code text} only when return_text is set. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Rank(int index, String text, float score) {
    }

    /** One label's score of /predict. */
    record Prediction(float score, String label) {
    }

    /** OpenAI's /v1/embeddings answer. */
    record OpenAiEmbeddings(String object, List<OpenAiEmbedding> data, String model, OpenAiUsage usage) {
    }

    /** {@code embedding} is a float array, or a base64 string of little-endian floats. */
    record OpenAiEmbedding(String object, Object embedding, int index) {
    }

    record OpenAiUsage(@JsonProperty("prompt_tokens") long promptTokens,
                       @JsonProperty("total_tokens") long totalTokens) {
    }

    /** /models. */
    record Models(List<ModelSummary> models, @JsonProperty("rerank_mode") String rerankMode) {
    }

    /** One model as /models and the combined /info list it. */
    record ModelSummary(String name, String role, String kind, String device,
                        @JsonProperty("max_input_length") int maxInputLength,
                        Integer dimensions, String dtype,
                        @JsonInclude(JsonInclude.Include.NON_NULL) String pooling,
                        @JsonInclude(JsonInclude.Include.NON_NULL) List<String> outputs,
                        @JsonProperty("gpu_memory_at_load_bytes") Long gpuMemoryAtLoadBytes,
                        @JsonProperty("queue_size") int queueSize) {
    }

    /** TEI's /info keys in TEI's order, then Tandem's additions (absent ones left out). */
    record Info(@JsonProperty("model_id") String modelId,
                @JsonProperty("model_sha") String modelSha,
                @JsonProperty("model_dtype") String modelDtype,
                @JsonProperty("served_model_name") String servedModelName,
                @JsonProperty("model_type") Map<String, Object> modelType,
                @JsonProperty("max_concurrent_requests") int maxConcurrentRequests,
                @JsonProperty("max_input_length") int maxInputLength,
                @JsonProperty("max_batch_tokens") int maxBatchTokens,
                @JsonProperty("max_batch_requests") Integer maxBatchRequests,
                @JsonProperty("max_client_batch_size") int maxClientBatchSize,
                @JsonProperty("auto_truncate") boolean autoTruncate,
                @JsonProperty("tokenization_workers") int tokenizationWorkers,
                String version,
                String sha,
                @JsonProperty("docker_label") String dockerLabel,
                @JsonProperty("tandem_version") String tandemVersion,
                String device,
                @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("device_note") String deviceNote,
                @JsonInclude(JsonInclude.Include.NON_NULL) List<String> outputs,
                @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("graph_outputs") Map<String, String> graphOutputs,
                @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("gpu_memory_at_load_bytes") Long gpuMemoryAtLoadBytes,
                @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("rerank_mode") String rerankMode,
                @JsonInclude(JsonInclude.Include.NON_NULL) List<ModelSummary> models) {
    }
}
