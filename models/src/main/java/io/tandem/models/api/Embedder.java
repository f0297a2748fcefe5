package io.tandem.models.api;

import io.tandem.models.BuiltinModels;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.models.infer.Request;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.SparseVector;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Text embeddings in-process, without HTTP: a face over the same {@link Inference} core the
 * server runs, so a list gets the server's batches and outputs. Inputs longer than the
 * model's limit are truncated (right). Thread-safe: concurrent calls share the model's queue.
 *
 * <pre>{@code
 * try (Embedder embedder = Embedder.open(Path.of("/models/bge-m3"), ModelOptions.defaults())) {
 *     float[] v = embedder.embed("What is machine learning?");            // L2-normalised dense
 *     List<SparseVector> lexical = embedder.embedSparse(List.of("hybrid retrieval"));
 * }
 * }</pre>
 */
public final class Embedder implements AutoCloseable {

    private final Inference inference;
    private final EmbedderModel model;

    private Embedder(Inference inference) {
        this.inference = inference;
        this.model = (EmbedderModel) inference.model();
    }

    /** A model folder in the Hugging Face layout (see the README's "Models"). */
    public static Embedder open(Path dir, ModelOptions options) {
        return open(dir, options, InferenceSettings.library(), InferenceListener.NONE);
    }

    /** With the batch budget and a listener of one's own (batches formed, timings). */
    public static Embedder open(Path dir, ModelOptions options, InferenceSettings settings, InferenceListener listener) {
        Model model = Model.load(dir.getFileName().toString(), dir, options);
        if (!(model instanceof EmbedderModel)) {
            model.close();
            throw new ModelLoadException(dir + " is not an embedding model");
        }
        return new Embedder(Inference.builder(model).settings(settings).listener(listener).start());
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
        return run(texts, EmbedOutput.DENSE).stream().map(Embedding::dense).toList();
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
        return inference.embed(new Request.Embed(Request.Inputs.texts(texts), Request.Truncate.DEFAULT, null, output,
                true, null)).value();
    }

    @Override
    public void close() {
        inference.close();
    }
}
