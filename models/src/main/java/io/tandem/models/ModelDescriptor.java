package io.tandem.models;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a model folder says about the model, resolved once at load: its kind, limits,
 * pooling, labels and prompts.
 *
 * @param maxInputLength the token limit, special tokens included
 * @param padId          the id used to pad batches
 * @param id2label       labels of a classifier, in id order (empty for embedders)
 * @param prompts        sentence-transformers prompts by name (empty when none)
 * @param dtype          "float32" or "float16", as exported
 */
public record ModelDescriptor(ModelKind kind, String modelType, int hiddenSize, int maxInputLength, Pooling pooling,
                              long vocabSize, long padId, Map<Integer, String> id2label, Map<String, String> prompts,
                              String dtype) {

    private static final Set<String> ROBERTA_FAMILY = Set.of("xlm-roberta", "roberta", "camembert", "xlm_roberta");

    public static ModelDescriptor describe(ModelFiles files, Pooling poolingOverride) {
        return describe(files, poolingOverride, null);
    }

    /**
     * @param hint the kind the user asked for (--embed-model, --rerank-model), or null; it
     *             decides only when neither the folder nor the graph does (see {@link GraphKind})
     */
    public static ModelDescriptor describe(ModelFiles files, Pooling poolingOverride, ModelKind hint) {
        JsonNode config = files.config();
        String modelType = config.path("model_type").asText("bert");
        JsonNode manifest = files.manifest().orElse(null);
        Map<Integer, String> labels = labels(config);
        ModelKind kind = GraphKind.declared(config, manifest)
                ? kind(config, manifest, labels) : GraphKind.fromGraph(files.onnx(), labels, hint);
        if (kind == ModelKind.RERANKER && labels.isEmpty()) {
            labels.put(0, "LABEL_0");
        }
        long padId = config.path("pad_token_id").asLong(ROBERTA_FAMILY.contains(modelType) ? 1 : 0);
        int offset = ROBERTA_FAMILY.contains(modelType) ? (int) padId + 1 : 0;
        int positions = config.path("max_position_embeddings").asInt(512) - offset;
        int limit = positions;
        if (manifest != null && manifest.has("max_input_length")) {
            limit = Math.min(limit, manifest.get("max_input_length").asInt());
        } else if (files.sentenceBertConfig().isPresent() && files.sentenceBertConfig().get().has("max_seq_length")) {
            limit = Math.min(limit, files.sentenceBertConfig().get().get("max_seq_length").asInt());
        } else if (files.tokenizerConfig().isPresent()) {
            // The common "1e30" means "no limit": only a real number narrows the model's own.
            double declared = files.tokenizerConfig().get().path("model_max_length").asDouble(Double.MAX_VALUE);
            if (declared >= 1 && declared < 1_000_000) {
                limit = Math.min(limit, (int) declared);
            }
        }
        Pooling pooling = poolingOverride != null ? poolingOverride : pooling(files, manifest);
        Map<String, String> prompts = new LinkedHashMap<>();
        files.sentenceTransformersConfig().map(st -> st.path("prompts")).ifPresent(p ->
                p.properties().forEach(e -> prompts.put(e.getKey(), e.getValue().asText())));
        String dtype = manifest != null ? manifest.path("dtype").asText("float32") : "float32";
        return new ModelDescriptor(kind, modelType, config.path("hidden_size").asInt(0), limit, pooling,
                config.path("vocab_size").asLong(Long.MAX_VALUE), padId, labels, prompts, dtype);
    }

    /** Position id of a sequence's first token: RoBERTa models count from pad id + 1. */
    public int firstPositionId() {
        return ROBERTA_FAMILY.contains(modelType) ? (int) padId + 1 : 0;
    }

    public boolean isClassifier() {
        return kind != ModelKind.EMBEDDER;
    }

    private static ModelKind kind(JsonNode config, JsonNode manifest, Map<Integer, String> labels) {
        if (manifest != null && manifest.has("kind")) {
            return switch (manifest.get("kind").asText()) {
                case "embedder" -> ModelKind.EMBEDDER;
                case "reranker" -> ModelKind.RERANKER;
                case "classifier" -> ModelKind.CLASSIFIER;
                default -> throw new ModelLoadException("tandem.json: unknown kind " + manifest.get("kind"));
            };
        }
        String architecture = config.path("architectures").path(0).asText("");
        if (architecture.endsWith("Classification")) {
            if (labels.isEmpty()) {
                throw new ModelLoadException("classifier config has no id2label");
            }
            return labels.size() == 1 ? ModelKind.RERANKER : ModelKind.CLASSIFIER;
        }
        return ModelKind.EMBEDDER;
    }

    private static Map<Integer, String> labels(JsonNode config) {
        Map<Integer, String> labels = new java.util.TreeMap<>();
        config.path("id2label").properties().forEach(e -> labels.put(Integer.parseInt(e.getKey()), e.getValue().asText()));
        if (labels.isEmpty() && config.has("num_labels")) {
            for (int i = 0; i < config.get("num_labels").asInt(); i++) {
                labels.put(i, "LABEL_" + i);
            }
        }
        return new LinkedHashMap<>(labels);
    }

    private static Pooling pooling(ModelFiles files, JsonNode manifest) {
        if (files.poolingConfig().isPresent()) {
            JsonNode p = files.poolingConfig().get();
            if (p.path("pooling_mode_cls_token").asBoolean(false)) {
                return Pooling.CLS;
            }
            if (p.path("pooling_mode_mean_tokens").asBoolean(false)) {
                return Pooling.MEAN;
            }
            if (p.path("pooling_mode_lasttoken").asBoolean(false)) {
                return Pooling.LASTTOKEN;
            }
        }
        if (manifest != null && manifest.has("pooling")) {
            return Pooling.parse(manifest.get("pooling").asText());
        }
        // bge models pool the CLS token.
        return Pooling.CLS;
    }
}
