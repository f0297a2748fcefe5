package io.tandem.models.api;

import io.tandem.models.BuiltinModels;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.SparseVector;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Text embeddings in-process, without HTTP: the same tokenizer, graph and heads as the server.
 * Inputs longer than the model's limit are truncated (right); lists are batched by length
 * under a token budget. Thread-safe; runs are serialised per model.
 *
 * <pre>{@code
 * try (Embedder embedder = Embedder.open(Path.of("/models/bge-m3"), ModelOptions.defaults())) {
 *     float[] v = embedder.embed("What is machine learning?");            // L2-normalised dense
 *     List<SparseVector> lexical = embedder.embedSparse(List.of("hybrid retrieval"));
 * }
 * }</pre>
 */
public final class Embedder implements AutoCloseable {

    private static final int DEFAULT_BATCH_TOKENS = 16384;

    private final EmbedderModel model;
    private final int maxBatchTokens;

    private Embedder(EmbedderModel model, int maxBatchTokens) {
        this.model = model;
        this.maxBatchTokens = maxBatchTokens;
    }

    /** A model folder in the Hugging Face layout (see the README's "Models"). */
    public static Embedder open(Path dir, ModelOptions options) {
        Model model = Model.load(dir.getFileName().toString(), dir, options);
        if (!(model instanceof EmbedderModel embedder)) {
            model.close();
            throw new ModelLoadException(dir + " is not an embedding model");
        }
        return new Embedder(embedder, DEFAULT_BATCH_TOKENS);
    }

    /** The built-in BAAI bge-small-zh-v1.5. */
    public static Embedder builtin(ModelOptions options) {
        return open(BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir()), options);
    }

    public int dimensions() {
        return model.dimensions();
    }

    /** The model's outputs: dense always; TOKENS and SPARSE where the graph has them. */
    public Set<EmbedOutput> outputs() {
        return model.outputs();
    }

    public float[] embed(String text) {
        return embed(List.of(text)).getFirst();
    }

    /** L2-normalised dense vectors, in input order. */
    public List<float[]> embed(List<String> texts) {
        return run(texts, EmbedOutput.DENSE).stream().map(e -> VectorMath.normalize(e.dense())).toList();
    }

    /** bge-m3 lexical weights (token id → weight), in input order. */
    public List<SparseVector> embedSparse(List<String> texts) {
        return run(texts, EmbedOutput.SPARSE).stream().map(Embedding::sparse).toList();
    }

    /** Per-token vectors: normalised ColBERT vectors where the model has them, else hidden states. */
    public List<float[][]> embedTokens(List<String> texts) {
        return run(texts, EmbedOutput.TOKENS).stream().map(Embedding::tokens).toList();
    }

    private List<Embedding> run(List<String> texts, EmbedOutput output) {
        if (!model.outputs().contains(output)) {
            throw new UnsupportedOperationException(model.name() + " has no " + output + " output");
        }
        List<Tokens> rows = new ArrayList<>(texts.size());
        for (String text : texts) {
            rows.add(model.tokenizer().encode(text, Truncation.RIGHT));
        }
        Embedding[] out = new Embedding[rows.size()];
        for (List<Integer> batch : Batches.plan(rows, maxBatchTokens)) {
            List<Embedding> result = model.embed(batch.stream().map(rows::get).toList(), EnumSet.of(output));
            for (int i = 0; i < batch.size(); i++) {
                out[batch.get(i)] = result.get(i);
            }
        }
        return Arrays.asList(out);
    }

    @Override
    public void close() {
        model.close();
    }
}
