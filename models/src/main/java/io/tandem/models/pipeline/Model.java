package io.tandem.models.pipeline;

import io.tandem.models.ModelDescriptor;
import io.tandem.models.ModelFiles;
import io.tandem.models.ModelKind;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.Pooling;
import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceUnusableException;
import io.tandem.ort.GpuMemory;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.OutputTensor;
import io.tandem.ort.SessionFactory;
import io.tandem.ort.SessionSpec;
import io.tandem.ort.bound.BoundSession;
import io.tandem.ort.graph.ClsPruning;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * A loaded model: tokenizer, ONNX session and what the folder says about it. Subclasses turn
 * graph outputs into results. Input buffers are reused from batch to batch.
 */
public abstract sealed class Model implements AutoCloseable permits EmbedderModel, ClassifierModel {

    private static final Logger LOG = Logger.getLogger(Model.class.getName());

    private final String name;
    private final ModelFiles files;
    private final ModelDescriptor descriptor;
    private final TextTokenizer tokenizer;
    private final InferenceSession session;
    /** The graph as it is, opened on first need, where {@code session} runs a pruned rewrite of it. */
    private final FullGraph fullGraph;
    /**
     * Input buffer sets not in use: one per batch running and one for the batch filled while they
     * run (see {@link #prepare}); the batch queue bounds how many are ever out at once.
     */
    private final Queue<InputBuffers> freeBuffers = new ConcurrentLinkedQueue<>();
    private final boolean packed;
    private final ArenaShrink arenaShrink = new ArenaShrink();
    private long gpuMemoryAtLoad = -1;
    private LoadTimes loadTimes;
    private boolean firstTokenOnly;
    /** Small batches at fixed shapes through a bound session (CUDA graphs), or null. */
    private BoundRuns bound;

    Model(String name, ModelFiles files, ModelDescriptor descriptor, TextTokenizer tokenizer, InferenceSession session,
          FullGraph fullGraph) {
        this.name = name;
        this.files = files;
        this.descriptor = descriptor;
        this.tokenizer = tokenizer;
        this.session = session;
        this.fullGraph = fullGraph;
        InputBuffers buffers = newBuffers();
        freeBuffers.add(buffers);
        this.packed = buffers instanceof PackedInputs;
        for (String input : session.inputNames()) {
            if (!buffers.inputNames().contains(input)) {
                throw new ModelLoadException("model " + name + ": unsupported graph input '" + input
                        + "' (expected " + String.join(", ", new TreeSet<>(buffers.inputNames())) + ")");
            }
        }
    }

    /** Loads the folder as whatever kind of model it holds. */
    public static Model load(String name, Path dir, ModelOptions options) {
        return load(name, dir, options, null);
    }

    /** As {@link #load(String, Path, ModelOptions)}; {@code kindHint} decides where nothing else does. */
    public static Model load(String name, Path dir, ModelOptions options, ModelKind kindHint) {
        ModelFiles files = ModelFiles.open(dir);
        ModelDescriptor descriptor = ModelDescriptor.describe(files, options.pooling(), kindHint);
        ClsPruning.Result pruned = options.fullLastLayer() ? null : prune(name, files, descriptor, options);
        if (pruned == null || !pruned.applied()) {
            return load(name, files, descriptor, options, null);
        }
        try {
            return load(name, files, descriptor, options, pruned);
        } catch (RuntimeException e) {
            if (deviceUnusable(e)) {
                throw e; // the graph as it is would not run there either
            }
            // The rewrite rests on module names; a graph it misreads must still be served, as it is.
            LOG.warning("model " + name + ": the graph with its last layer computed for the first token only did "
                    + "not run (" + e.getMessage() + "); running the graph as it is");
            return load(name, files, descriptor, options, null);
        }
    }

    private static boolean deviceUnusable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DeviceUnusableException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The graph with its last layer cut down to the first token, where only that token is read
     * (a CLS-pooled embedder, a classifier), or null.
     */
    private static ClsPruning.Result prune(String name, ModelFiles files, ModelDescriptor descriptor,
                                           ModelOptions options) {
        ClsPruning.Head head = descriptor.isClassifier() ? ClsPruning.Head.CLASSIFIER
                : options.pooling() == null && descriptor.pooling() == Pooling.CLS ? ClsPruning.Head.CLS_POOLED
                : null;
        if (head == null) {
            return null;
        }
        long t0 = System.nanoTime();
        try {
            ClsPruning.Result result = ClsPruning.prune(files.onnx(), head);
            LOG.info("model " + name + ": " + (result.applied()
                    ? String.format(Locale.ROOT, "last layer computed for the first token only (graph rewritten in %.1f s)",
                    (System.nanoTime() - t0) / 1e9)
                    : "graph runs as it is: " + result.reason()));
            return result;
        } catch (IOException | RuntimeException e) {
            LOG.warning("model " + name + ": cannot read " + files.onnx().getFileName() + " to rewrite it ("
                    + e.getMessage() + "); running it as it is");
            return null;
        }
    }

    private static Model load(String name, ModelFiles files, ModelDescriptor descriptor, ModelOptions options,
                              ClsPruning.Result pruned) {
        byte[] prunedGraph = pruned != null ? pruned.graph() : null;
        long t0 = System.nanoTime();
        TextTokenizer tokenizer;
        try {
            tokenizer = TextTokenizer.load(files.tokenizer(), descriptor.maxInputLength(), descriptor.vocabSize());
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("model " + name + ": cannot load " + files.tokenizer() + ": " + e.getMessage(), e);
        }
        long t1 = System.nanoTime();
        int deviceId = options.device().deviceId();
        OptionalLong before = GpuMemory.get().used(deviceId);
        SessionSpec spec = new SessionSpec(name, files.onnx(), options.device(), options.gpuMemLimit(),
                options.intraOpThreads(), options.profilePrefix());
        InferenceSession session;
        try {
            session = SessionFactory.open(spec, prunedGraph);
        } catch (RuntimeException e) {
            tokenizer.close();
            boolean cudaOnly = files.manifest().map(m -> "cuda".equals(m.path("requires").asText())).orElse(false);
            if (cudaOnly) {
                throw new ModelLoadException("model " + name + ": this export runs only on CUDA (its attention is "
                        + "ONNX Runtime's PackedMultiHeadAttention) and CUDA is not usable here; export the model "
                        + "with export-m3 / export-reranker to run it on the CPU (" + e.getMessage() + ")", e);
            }
            throw e;
        }
        long t2 = System.nanoTime();
        FullGraph full = pruned != null && pruned.replaced() != null ? new FullGraph(spec, pruned.replaced(), descriptor)
                : null;
        try {
            Model model = descriptor.isClassifier()
                    ? new ClassifierModel(name, files, descriptor, tokenizer, session, full)
                    : new EmbedderModel(name, files, descriptor, tokenizer, session, full);
            if (options.pooling() != null && model instanceof EmbedderModel e && !e.poolsHere()) {
                // The export baked its pooling into the graph; honouring the flag would take another export.
                throw new ModelLoadException("model " + name + ": --pooling " + options.pooling().teiName()
                        + " cannot apply: the graph outputs a pooled vector (" + e.denseOutput() + "); export it with "
                        + "last_hidden_state (models/export/tandem_export.py export-plain) to choose the pooling");
            }
            model.firstTokenOnly = prunedGraph != null;
            model.bound = options.cudaGraphs() && model.packed ? openBound(name, files, descriptor, options, prunedGraph,
                    session.device()) : null;
            model.warmUp();
            model.loadTimes = new LoadTimes(t1 - t0, t2 - t1, System.nanoTime() - t2);
            OptionalLong after = GpuMemory.get().used(deviceId);
            if (session.device().startsWith("cuda") && before.isPresent() && after.isPresent()) {
                model.gpuMemoryAtLoad = after.getAsLong() - before.getAsLong();
            }
            return model;
        } catch (RuntimeException e) {
            session.close();
            tokenizer.close();
            throw e;
        }
    }

    /** The bound session for fixed-shape runs, or null (with the reason logged) where it cannot open. */
    private static BoundRuns openBound(String name, ModelFiles files, ModelDescriptor descriptor, ModelOptions options,
                                       byte[] graph, String device) {
        int cudaDevice = device.startsWith("cuda") ? options.device().deviceId() : -1;
        try {
            BoundSession bound = BoundSession.open(name, files.onnx(), graph, cudaDevice, options.gpuMemLimit(),
                    BoundRuns.inputBytes());
            LOG.info("model " + name + ": batches of up to " + ShapeBuckets.MAX_TOKENS + " tokens run at fixed shapes"
                    + (cudaDevice >= 0 ? ", each shape's CUDA graph captured on its second batch (a second copy of the weights)" : ""));
            return new BoundRuns(name, descriptor.maxInputLength(), bound);
        } catch (RuntimeException e) {
            LOG.warning("model " + name + ": --cuda-graphs is off, the bound session did not open: " + e.getMessage());
            return null;
        }
    }

    /**
     * The graph file as it is, behind a session whose last layer was cut to the first token: its
     * per-token output (/embed_all) is opened only when a request first asks for it, so serving
     * CLS vectors costs one session's memory.
     */
    static final class FullGraph implements AutoCloseable {

        private final SessionSpec spec;
        private final String hiddenOutput;
        private final long[] hiddenShape;
        private InferenceSession session;

        FullGraph(SessionSpec spec, String hiddenOutput, ModelDescriptor descriptor) {
            this.spec = spec;
            this.hiddenOutput = hiddenOutput;
            this.hiddenShape = new long[] {-1, -1, descriptor.hiddenSize()};
        }

        synchronized InferenceSession session() {
            if (session == null) {
                LOG.info("model " + spec.name() + ": opening the graph with every token's last layer, "
                        + "for per-token outputs");
                session = SessionFactory.open(spec);
            }
            return session;
        }

        @Override
        public synchronized void close() {
            if (session != null) {
                session.close();
            }
        }
    }

    public String name() {
        return name;
    }

    public ModelFiles files() {
        return files;
    }

    public ModelDescriptor descriptor() {
        return descriptor;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /** "cuda:N" or "cpu". */
    public String device() {
        return session.device();
    }

    /** Why the model is on the CPU although CUDA was allowed, or null. */
    public String fallbackReason() {
        return session.fallbackReason();
    }

    /**
     * Device memory the model took when it loaded (weights, arena and workspaces after a
     * warm-up batch), measured through NVML; -1 on CPU or without NVML.
     */
    public long gpuMemoryAtLoad() {
        return gpuMemoryAtLoad;
    }

    /** Whether the session computes the last layer for the first token only (see ClsPruning). */
    public boolean lastLayerFirstTokenOnly() {
        return firstTokenOnly;
    }

    /** How long the tokenizer, the session and the warm-up took to load. */
    public LoadTimes loadTimes() {
        return loadTimes;
    }

    /**
     * One small batch at load: proves the device really runs the graph (appending the CUDA
     * provider does not) and makes the first request's latency ordinary.
     */
    protected abstract void warmUp();

    /**
     * When the GPU arena gives unused memory back, after a batch costing more than this many
     * tokens: see {@link ArenaShrink}; {@code idleAfterBatch} says that no more work is waiting.
     */
    public void shrinkArenaAbove(long tokens, BooleanSupplier idleAfterBatch) {
        if (!session.device().startsWith("cuda")) {
            arenaShrink.set(tokens, idleAfterBatch, null);
            return;
        }
        arenaShrink.set(tokens, idleAfterBatch, () -> {
            shrinkArenaNow();
            holdArenaFor(tokens);
        });
        holdArenaFor(tokens);
    }

    /** A one-row batch whose run ends by giving the arena's unused memory back. */
    private void shrinkArenaNow() {
        PreparedBatch prepared = prepare(List.of(tokenizer.encode("arena", Truncation.RIGHT)), false);
        try {
            session.run(prepared.batch().feeds(), Set.of(session.outputShapes().keySet().iterator().next()), true);
        } finally {
            prepared.discard();
        }
    }

    /**
     * Runs one batch as large as a batch can be without owing a shrink, so that the arena holds
     * what any such batch needs from then on. Without it, after a shrink every new small shape
     * grew the arena a little: +212 to +236 MiB over 10,000 mixed requests on the H200 (issue 15),
     * where the issue asks for memory flat from the first request on. TEI's warm-up does the same
     * with its largest batch.
     */
    private void holdArenaFor(long tokens) {
        PreparedBatch prepared = prepare(holdingRows(tokens), false);
        try {
            session.run(prepared.batch().feeds(), session.outputShapes().keySet(), false);
        } finally {
            prepared.discard();
        }
    }

    /** Rows of up to 512 tokens (the longest most traffic sends) whose batch costs at most {@code tokens}. */
    List<Tokens> holdingRows(long tokens) {
        long[] sample = tokenizer.encode("arena", Truncation.RIGHT).ids();
        int length = (int) Math.min(Math.min(descriptor.maxInputLength(), 512), tokens);
        int rows = (int) Math.max(1, tokens / length);
        long[] ids = new long[length];
        Arrays.fill(ids, sample[Math.min(1, sample.length - 1)]);
        ids[0] = sample[0];
        ids[length - 1] = sample[sample.length - 1];
        List<Tokens> batch = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            batch.add(new Tokens(ids, new long[length], false));
        }
        return batch;
    }

    /** The outputs the model offers: the served graph's, and the full graph's where that is kept apart. */
    protected Map<String, long[]> graphOutputs() {
        if (fullGraph == null) {
            return session.outputShapes();
        }
        Map<String, long[]> outputs = new LinkedHashMap<>(session.outputShapes());
        outputs.put(fullGraph.hiddenOutput, fullGraph.hiddenShape);
        return outputs;
    }

    /** Whether {@code output} comes from the graph as exported, kept apart from the pruned one run. */
    protected boolean keptApart(String output) {
        return fullGraph != null && fullGraph.hiddenOutput.equals(output);
    }

    /** Whether the graph takes padding-free batches (cost = real tokens, not rows × longest). */
    public boolean packed() {
        return packed;
    }

    /** The graph's outputs for one batch, with where each row's tokens landed in them. */
    protected record Ran(Batch batch, Map<String, OutputTensor> outputs) {

        OutputTensor get(String output) {
            return outputs.get(output);
        }
    }

    /**
     * Builds a batch's graph inputs in one of the model's two buffer sets, so it can be done
     * while another batch runs; the set is given back by {@link #run} or
     * {@link PreparedBatch#discard()}.
     */
    public PreparedBatch prepare(List<Tokens> rows) {
        return prepare(rows, true);
    }

    /**
     * @param atFixedShape whether a small packed batch may take a bucket's shape (--cuda-graphs);
     *                     the arena's own runs go on the model's session as they are, and must not
     *                     take one of the model's shape ids
     */
    private PreparedBatch prepare(List<Tokens> rows, boolean atFixedShape) {
        InputBuffers free = freeBuffers.poll();
        InputBuffers buffers = free != null ? free : newBuffers();
        try {
            Batch batch = atFixedShape && bound != null && buffers instanceof PackedInputs packedBuffers
                    ? bound.fill(packedBuffers, rows) : buffers.fill(rows);
            return new PreparedBatch(rows, batch, () -> freeBuffers.add(buffers));
        } catch (RuntimeException | Error e) {
            freeBuffers.add(buffers);
            throw e;
        }
    }

    private InputBuffers newBuffers() {
        return InputBuffers.forGraph(session.inputNames(), descriptor.padId(), descriptor.firstPositionId());
    }

    /**
     * Runs a prepared batch for the given outputs, then gives its buffers back. Batches may run
     * at once on the CPU; the batch queue runs one at a time on a GPU.
     */
    protected Ran run(PreparedBatch prepared, Set<String> outputs) {
        try {
            Batch batch = prepared.batch();
            arenaShrink.batchStarting(batch.cost());
            InferenceSession runs = fullGraph != null && !session.outputShapes().keySet().containsAll(outputs)
                    ? fullGraph.session() : session;
            return new Ran(batch, runs == session && bound != null ? bound.run(batch, outputs, session)
                    : runs.run(batch.feeds(), outputs, false));
        } finally {
            prepared.discard();
            arenaShrink.batchDone();
        }
    }

    /** How many fixed shapes have run through the bound session (captured CUDA graphs on a GPU). */
    public int boundShapes() {
        return bound != null ? bound.boundShapes() : 0;
    }

    @Override
    public void close() {
        arenaShrink.close();
        if (bound != null) {
            bound.close();
        }
        if (fullGraph != null) {
            fullGraph.close();
        }
        session.close();
        tokenizer.close();
    }
}
