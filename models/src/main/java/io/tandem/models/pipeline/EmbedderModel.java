package io.tandem.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.ModelDescriptor;
import io.tandem.models.ModelFiles;
import io.tandem.models.ModelLoadException;
import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.OutputTensor;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An embedding graph. Four layouts are understood: Tandem's own (tandem.json names the dense,
 * sparse and ColBERT outputs of one bge-m3 graph), the community bge-m3 exports without a
 * tandem.json (outputs {@code dense_vecs}/{@code sparse_vecs}/{@code colbert_vecs} or
 * {@code dense}/{@code sparse}/{@code colbert}), a graph with a pooled output
 * ({@code sentence_embedding} and similar), and a plain {@code last_hidden_state} graph that is
 * pooled here.
 */
public final class EmbedderModel extends Model {

    private static final List<String> POOLED_NAMES = List.of("sentence_embedding", "sentence_embeddings", "dense_vecs",
            "embeddings", "dense");
    // What community bge-m3 exports call the lexical and multi-vector heads (e.g. aapot/bge-m3-onnx,
    // newtechstudio/bge-m3-3head), read only when no tandem.json names the outputs.
    private static final List<String> SPARSE_NAMES = List.of("sparse_vecs", "sparse");
    private static final List<String> COLBERT_NAMES = List.of("colbert_vecs", "colbert");

    private final String pooledOutput;
    private final String hiddenOutput;
    private final String sparseOutput;
    private final String colbertOutput;
    private final Set<Long> sparseSkipIds;
    private final int dimensions;

    EmbedderModel(String name, ModelFiles files, ModelDescriptor descriptor, TextTokenizer tokenizer,
                  InferenceSession session, FullGraph fullGraph) {
        super(name, files, descriptor, tokenizer, session, fullGraph);
        Map<String, long[]> outputs = graphOutputs();
        JsonNode named = files.manifest().map(m -> m.path("outputs")).filter(JsonNode::isObject).orElse(null);
        String pooled = named != null ? existing(outputs, named.path("dense").asText(null)) : null;
        if (pooled == null) {
            pooled = POOLED_NAMES.stream().filter(n -> outputs.containsKey(n) && outputs.get(n).length == 2)
                    .findFirst().orElse(null);
        }
        String sparse = named != null ? existing(outputs, named.path("sparse").asText(null)) : first(outputs, SPARSE_NAMES);
        String colbert = named != null ? existing(outputs, named.path("colbert").asText(null)) : first(outputs, COLBERT_NAMES);
        String hidden = outputs.containsKey("last_hidden_state") ? "last_hidden_state"
                : outputs.entrySet().stream().filter(e -> e.getValue().length == 3 && !e.getKey().equals(colbert)
                        && !e.getKey().equals(sparse))
                .map(Map.Entry::getKey).findFirst().orElse(null);
        this.pooledOutput = pooled;
        this.hiddenOutput = hidden;
        this.sparseOutput = sparse;
        this.colbertOutput = colbert;
        if (pooledOutput == null && hiddenOutput == null) {
            throw new ModelLoadException("model " + name + ": the graph has neither a pooled output nor "
                    + "last_hidden_state (outputs: " + outputs.keySet() + ")");
        }
        if (packed() && pooledOutput == null) {
            throw new ModelLoadException("model " + name + ": a packed graph must have a pooled dense output");
        }
        Set<Long> skip = new HashSet<>();
        files.manifest().ifPresent(m -> m.path("sparse_skip_token_ids").forEach(id -> skip.add(id.asLong())));
        if (sparse != null && files.manifest().map(m -> !m.has("sparse_skip_token_ids")).orElse(true)) {
            skip.addAll(SpecialIds.of(files));
        }
        this.sparseSkipIds = skip;
        long[] shape = outputs.get(pooledOutput != null ? pooledOutput : hiddenOutput);
        int dims = (int) shape[shape.length - 1];
        this.dimensions = dims > 0 ? dims : descriptor.hiddenSize();
    }

    @Override
    protected void warmUp() {
        // Not TOKENS: where they come from a graph kept apart (Model.FullGraph), it opens on first use.
        Set<EmbedOutput> outputs = EnumSet.copyOf(outputs());
        outputs.remove(EmbedOutput.TOKENS);
        embed(List.of(tokenizer().encode("warm up", Truncation.RIGHT)), outputs);
    }

    /** Whether dense vectors are pooled here (from last_hidden_state) rather than in the graph. */
    public boolean poolsHere() {
        return pooledOutput == null;
    }

    /** The graph output dense vectors come from. */
    public String denseOutput() {
        return pooledOutput != null ? pooledOutput : hiddenOutput;
    }

    /** Size of the dense vector. */
    public int dimensions() {
        return dimensions;
    }

    public boolean hasSparse() {
        return sparseOutput != null;
    }

    public boolean hasColbert() {
        return colbertOutput != null;
    }

    /**
     * The graph outputs serving each result, for /info: "dense", and "sparse", "colbert" or
     * "hidden" (a per-token output pooled here) where the graph has them.
     */
    public Map<String, String> outputNames() {
        Map<String, String> names = new LinkedHashMap<>();
        names.put("dense", pooledOutput != null ? pooledOutput : hiddenOutput);
        if (sparseOutput != null) {
            names.put("sparse", sparseOutput);
        }
        if (colbertOutput != null) {
            names.put("colbert", colbertOutput);
        }
        if (hiddenOutput != null) {
            names.put("hidden", hiddenOutput);
        }
        return names;
    }

    /** Whether /embed_all has something to return. */
    public boolean hasTokenVectors() {
        return colbertOutput != null || hiddenOutput != null;
    }

    /** The outputs this graph offers, for /info and /models. */
    public Set<EmbedOutput> outputs() {
        Set<EmbedOutput> out = EnumSet.of(EmbedOutput.DENSE);
        if (hasTokenVectors()) {
            out.add(EmbedOutput.TOKENS);
        }
        if (hasSparse()) {
            out.add(EmbedOutput.SPARSE);
        }
        return out;
    }

    /** Runs one batch and computes the asked outputs for every row. */
    public List<Embedding> embed(List<Tokens> rows, Set<EmbedOutput> wanted) {
        return embed(prepare(rows), wanted);
    }

    /** Runs a prepared batch and computes the asked outputs for every row. */
    public List<Embedding> embed(PreparedBatch prepared, Set<EmbedOutput> wanted) {
        List<Tokens> rows = prepared.rows();
        Set<String> fetch = new HashSet<>();
        boolean dense = wanted.contains(EmbedOutput.DENSE);
        boolean tokens = wanted.contains(EmbedOutput.TOKENS);
        boolean sparse = wanted.contains(EmbedOutput.SPARSE);
        if (sparse && sparseOutput == null || tokens && !hasTokenVectors()) {
            prepared.discard();
            throw new IllegalArgumentException("model " + name() + " does not have the outputs " + wanted);
        }
        // A pruned graph's vector and the full graph's per-token output would take two runs (an
        // /embed and an /embed_all cut into one batch): the full graph's first row is that vector.
        boolean poolHere = pooledOutput == null || tokens && keptApart(hiddenOutput);
        if (dense) {
            fetch.add(poolHere ? hiddenOutput : pooledOutput);
        }
        if (tokens) {
            fetch.add(colbertOutput != null ? colbertOutput : hiddenOutput);
        }
        if (sparse) {
            fetch.add(sparseOutput);
        }
        Ran out = run(prepared, fetch);
        Embedding[] result = new Embedding[rows.size()];
        for (int b = 0; b < rows.size(); b++) {
            int length = rows.get(b).length();
            result[b] = new Embedding(
                    dense ? dense(out, b, length, poolHere) : null,
                    tokens ? tokenVectors(out, b, length) : null,
                    sparse ? sparse(out, rows.get(b), b) : null);
        }
        return List.of(result);
    }

    private float[] dense(Ran out, int b, int length, boolean poolHere) {
        if (!poolHere) {
            OutputTensor pooled = out.get(pooledOutput);
            int dims = pooled.dim(1);
            float[] v = new float[dims];
            System.arraycopy(pooled.data(), b * dims, v, 0, dims);
            return v;
        }
        OutputTensor hidden = out.get(hiddenOutput);
        return descriptor().pooling().pool(hidden.data(), hidden.dim(1), hidden.dim(2), b, length);
    }

    private float[][] tokenVectors(Ran out, int b, int length) {
        if (colbertOutput != null) {
            // ColBERT vectors cover tokens 1..length-1 (no <s>), normalised, as FlagEmbedding's.
            float[][] vectors = rows(out, colbertOutput, b, 1, length);
            for (float[] v : vectors) {
                VectorMath.normalize(v);
            }
            return vectors;
        }
        return rows(out, hiddenOutput, b, 0, length);
    }

    /**
     * Row b's vectors of tokens first..end-1 from a per-token output. A padded output may start
     * at token {@code first} (Tandem's and FlagEmbedding's ColBERT head drop CLS in the graph)
     * or cover every token (newtechstudio/bge-m3-3head's raw head): its length tells which.
     */
    private static float[][] rows(Ran out, String output, int b, int first, int end) {
        OutputTensor t = out.get(output);
        int dims = t.dim(t.shape().length - 1);
        boolean everyToken = out.batch().starts() == null && t.dim(1) == paddedLength(out.batch());
        int startsAt = everyToken ? 0 : first;
        float[][] vectors = new float[end - first][dims];
        for (int i = first; i < end; i++) {
            System.arraycopy(t.data(), out.batch().tokenRow(t, b, i, startsAt) * dims, vectors[i - first], 0, dims);
        }
        return vectors;
    }

    private static long paddedLength(Batch batch) {
        long[] shape = batch.feeds().get("input_ids").shape();
        return shape[shape.length - 1];
    }

    /** FlagEmbedding's lexical weights: max weight per token id, special ids and zeros dropped. */
    private SparseVector sparse(Ran out, Tokens row, int b) {
        OutputTensor weights = out.get(sparseOutput);
        TreeMap<Integer, Float> byId = new TreeMap<>();
        for (int t = 0; t < row.length(); t++) {
            long id = row.ids()[t];
            float w = weights.data()[out.batch().tokenRow(weights, b, t, 0)];
            if (w > 0 && !sparseSkipIds.contains(id)) {
                byId.merge((int) id, w, Math::max);
            }
        }
        int[] indices = new int[byId.size()];
        float[] values = new float[byId.size()];
        int i = 0;
        for (Map.Entry<Integer, Float> e : byId.entrySet()) {
            indices[i] = e.getKey();
            values[i++] = e.getValue();
        }
        return new SparseVector(indices, values);
    }

    private static String existing(Map<String, long[]> outputs, String name) {
        return name != null && outputs.containsKey(name) ? name : null;
    }

    private static String first(Map<String, long[]> outputs, List<String> names) {
        return names.stream().filter(outputs::containsKey).findFirst().orElse(null);
    }
}
