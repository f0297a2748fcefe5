package io.tandem.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A model folder in the Hugging Face layout: config.json, tokenizer.json, the ONNX graph at
 * model.onnx or onnx/model.onnx, and the optional files that refine it (tokenizer_config.json,
 * 1_Pooling/config.json, sentence-transformers configs, Tandem's tandem.json manifest).
 */
public record ModelFiles(Path dir, Path onnx, Path tokenizer, JsonNode config, Optional<JsonNode> tokenizerConfig,
                         Optional<JsonNode> poolingConfig, Optional<JsonNode> manifest,
                         Optional<JsonNode> sentenceBertConfig, Optional<JsonNode> sentenceTransformersConfig) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelFiles open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model folder " + dir + " does not exist");
        }
        Path onnx = firstExisting(dir.resolve("model.onnx"), dir.resolve("onnx/model.onnx"))
                .orElseThrow(() -> new ModelLoadException("no model.onnx or onnx/model.onnx in " + dir));
        Path tokenizer = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizer)) {
            throw new ModelLoadException("no tokenizer.json in " + dir + " (only fast tokenizers are supported)");
        }
        JsonNode config = readJson(dir.resolve("config.json"))
                .orElseThrow(() -> new ModelLoadException("no config.json in " + dir));
        return new ModelFiles(dir, onnx, tokenizer, config, readJson(dir.resolve("tokenizer_config.json")),
                readJson(dir.resolve("1_Pooling/config.json")), readJson(dir.resolve("tandem.json")),
                readJson(dir.resolve("sentence_bert_config.json")),
                readJson(dir.resolve("config_sentence_transformers.json")));
    }

    static Optional<JsonNode> readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(file.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static Optional<Path> firstExisting(Path... candidates) {
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
