package io.tandem.models.pipeline;

import io.tandem.models.ModelDescriptor;
import io.tandem.models.ModelFiles;
import io.tandem.models.ModelKind;
import io.tandem.models.ModelLoadException;
import io.tandem.models.ModelOptions;
import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.GpuMemory;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.OutputTensor;
import io.tandem.ort.SessionFactory;
import io.tandem.ort.SessionSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;

/**
 * A loaded model: tokenizer, ONNX session and what the folder says about it. Subclasses turn
 * graph outputs into results. Input buffers are reused from batch to batch.
 */
public abstract sealed class Model implements AutoCloseable permits EmbedderModel, ClassifierModel {

    private final String name;
    private final ModelFiles files;
    private final ModelDescriptor descriptor;
    private final TextTokenizer tokenizer;
    private final InferenceSession session;
    /**
     * Input buffer sets not in use: one per batch running and one for the batch filled while they
     * run (see {@link #prepare}); the batch queue bounds how many are ever out at once.
     */
    private final Queue<InputBuffers> freeBuffers = new ConcurrentLinkedQueue<>();
    private final boolean packed;
    private volatile long shrinkAbove = Long.MAX_VALUE;
    private volatile BooleanSupplier idleAfterBatch = () -> true;
    private long gpuMemoryAtLoad = -1;
    private LoadTimes loadTimes;

    Model(String name, ModelFiles files, ModelDescriptor descriptor, TextTokenizer tokenizer, InferenceSession session) {
        this.name = name;
        this.files = files;
        this.descriptor = descriptor;
        this.tokenizer = tokenizer;
        this.session = session;
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
        InferenceSession session;
        try {
            session = SessionFactory.open(new SessionSpec(name, files.onnx(), options.device(), options.gpuMemLimit(),
                    options.intraOpThreads()));
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
        try {
            Model model = descriptor.isClassifier()
                    ? new ClassifierModel(name, files, descriptor, tokenizer, session)
                    : new EmbedderModel(name, files, descriptor, tokenizer, session);
            if (options.pooling() != null && model instanceof EmbedderModel e && !e.poolsHere()) {
                // The export baked its pooling into the graph; honouring the flag would take another export.
                throw new ModelLoadException("model " + name + ": --pooling " + options.pooling().teiName()
                        + " cannot apply: the graph outputs a pooled vector (" + e.denseOutput() + "); export it with "
                        + "last_hidden_state (models/export/tandem_export.py export-plain) to choose the pooling");
            }
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
     * A batch costing more than this many tokens gives unused GPU arena memory back after it
     * runs, if {@code idleAfterBatch} says no more work is waiting. Under steady load the memory
     * is kept: freeing and re-allocating hundreds of MiB around every full batch would cost
     * more than the batch (cudaFree synchronises the device).
     */
    public void shrinkArenaAbove(long tokens, BooleanSupplier idleAfterBatch) {
        this.shrinkAbove = tokens;
        this.idleAfterBatch = idleAfterBatch;
    }

    protected Map<String, long[]> graphOutputs() {
        return session.outputShapes();
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
        InputBuffers free = freeBuffers.poll();
        InputBuffers buffers = free != null ? free : newBuffers();
        try {
            return new PreparedBatch(rows, buffers.fill(rows), () -> freeBuffers.add(buffers));
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
            boolean shrink = batch.cost() > shrinkAbove && idleAfterBatch.getAsBoolean();
            return new Ran(batch, session.run(batch.feeds(), outputs, shrink));
        } finally {
            prepared.discard();
        }
    }

    @Override
    public void close() {
        session.close();
        tokenizer.close();
    }
}
