package io.tandem.ort.bound;

import io.tandem.ort.DeviceLock;
import io.tandem.ort.InferenceException;
import io.tandem.ort.InputTensor;
import io.tandem.ort.OutputTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.Buffer;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A session run through ORT's C API with its inputs and outputs bound to buffers that never
 * move: what ORT's CUDA graphs need (a captured graph replays with the addresses it was captured
 * with), and what ORT's Java API cannot do. Each shape gets an id; on CUDA with graphs on, ORT
 * runs an id's first call three times (two runs to size its arena, then the capture) and replays
 * the captured kernels from then on, one launch in place of hundreds. Inputs of every id share
 * one buffer per input; outputs get buffers per id. Its arena is never shrunk: that would free
 * memory the captured graphs write to. One thread at a time: ORT keeps captured graphs per
 * calling thread.
 */
public final class BoundSession implements AutoCloseable {

    private static final int FLOAT = 1;
    private static final int INT32 = 6;
    private static final int INT64 = 7;

    private final String name;
    private final OrtApi ort = OrtApi.get();
    private final DeviceMemory memory;
    private final boolean cudaGraphs;
    private final MemorySegment session;
    private final MemorySegment memoryInfo;
    private final Map<String, MemorySegment> inputBuffers = new HashMap<>();
    private final Map<Integer, Shape> shapes = new HashMap<>();
    /** Where outputs land on the host before they become Java arrays. */
    private final Arena host = Arena.ofShared();
    private boolean closed;
    /** The one thread that runs it (see {@link #run}). */
    private Thread owner;

    /** One id's binding: its inputs' shapes and its outputs' buffers. */
    private record Shape(MemorySegment binding, MemorySegment runOptions, Map<String, long[]> inputs,
                         Map<String, Output> outputs, MemorySegment[] values) {
    }

    private record Output(MemorySegment device, MemorySegment host, long[] shape, int count) {
    }

    private BoundSession(String name, DeviceMemory memory, boolean cudaGraphs, MemorySegment session,
                         Map<String, Long> inputBytes) {
        this.name = name;
        this.memory = memory;
        this.cudaGraphs = cudaGraphs;
        this.session = session;
        this.memoryInfo = ort.memoryInfo(memory.ortName(), memory.deviceId());
        inputBytes.forEach((input, bytes) -> inputBuffers.put(input, memory.allocate(bytes)));
    }

    /**
     * Opens {@code graph} (or the file, where graph is null) on CUDA device {@code cudaDevice}
     * with graphs captured per shape id, or on the CPU where {@code cudaDevice} is negative.
     *
     * @param inputBytes the most bytes each input will hold, in any shape
     */
    public static BoundSession open(String name, Path file, byte[] graph, int cudaDevice, Long gpuMemLimit,
                                    Map<String, Long> inputBytes) {
        OrtApi ort = OrtApi.get();
        boolean cuda = cudaDevice >= 0;
        Map<String, String> config = new LinkedHashMap<>();
        config.put("session.intra_op.allow_spinning", "0");
        Map<String, String> cudaOptions = null;
        if (cuda) {
            cudaOptions = new LinkedHashMap<>();
            cudaOptions.put("arena_extend_strategy", "kSameAsRequested");
            cudaOptions.put("enable_cuda_graph", "1");
            if (gpuMemLimit != null) {
                cudaOptions.put("gpu_mem_limit", Long.toString(gpuMemLimit));
            }
        }
        MemorySegment options = ort.sessionOptions(config, cudaOptions, Math.max(cudaDevice, 0));
        MemorySegment session;
        try {
            session = DeviceLock.shared(() -> ort.session(ort.env(), graph, file, options));
        } finally {
            ort.releaseSessionOptions(options);
        }
        DeviceMemory memory = null;
        try {
            memory = cuda ? new CudaMemory(cudaDevice) : new HostMemory();
            DeviceMemory buffers = memory;
            return DeviceLock.shared(() -> new BoundSession(name, buffers, cuda, session, inputBytes));
        } catch (RuntimeException e) {
            if (memory != null) {
                memory.close();
            }
            ort.releaseSession(session);
            throw e;
        }
    }

    /**
     * Runs shape {@code id} (a positive number naming these input shapes) on {@code feeds} and
     * copies back the {@code fetch} outputs. The first call of an id binds buffers for the
     * outputs at {@code outputShapes} (every output of the graph, fp32, at these inputs' shapes).
     */
    public synchronized Map<String, OutputTensor> run(int id, Map<String, InputTensor> feeds,
                                                      Map<String, long[]> outputShapes, Set<String> fetch) {
        if (closed) {
            throw new InferenceException("model " + name + ": the bound session is closed");
        }
        if (id <= 0) {
            throw new IllegalArgumentException("shape ids are positive (ORT reserves 0 and -1): " + id);
        }
        if (owner == null) {
            owner = Thread.currentThread();
        } else if (owner != Thread.currentThread()) {
            // ORT keeps captured graphs per thread: another thread would capture each id again,
            // outside the lock a capture needs (DeviceLock), and keep a second copy of its memory.
            throw new IllegalStateException("model " + name + ": bound runs belong to " + owner.getName()
                    + ", not " + Thread.currentThread().getName());
        }
        if (!cudaGraphs) {
            return runBound(id, feeds, outputShapes, fetch);
        }
        // An id's first run is its capture: nothing else may touch the device meanwhile.
        return shapes.containsKey(id) ? DeviceLock.shared(() -> runBound(id, feeds, outputShapes, fetch))
                : DeviceLock.alone(() -> runBound(id, feeds, outputShapes, fetch));
    }

    private Map<String, OutputTensor> runBound(int id, Map<String, InputTensor> feeds, Map<String, long[]> outputShapes,
                                               Set<String> fetch) {
        Shape shape = shapes.get(id);
        if (shape == null) {
            shape = bind(id, feeds, outputShapes);
            try {
                return runBound(shape, id, feeds, fetch);
            } catch (RuntimeException e) {
                release(shape); // not captured: the id is bound afresh if it comes again
                throw e;
            }
        }
        return runBound(shape, id, feeds, fetch);
    }

    private Map<String, OutputTensor> runBound(Shape shape, int id, Map<String, InputTensor> feeds, Set<String> fetch) {
        for (Map.Entry<String, InputTensor> e : feeds.entrySet()) {
            InputTensor in = e.getValue();
            if (!Arrays.equals(in.shape(), shape.inputs().get(e.getKey()))) {
                throw new IllegalArgumentException("model " + name + ": shape id " + id + " was bound with "
                        + e.getKey() + " " + Arrays.toString(shape.inputs().get(e.getKey())) + ", not "
                        + Arrays.toString(in.shape()));
            }
            Buffer data = in.data().duplicate().position(0);
            memory.copyIn(MemorySegment.ofBuffer(data), inputBuffers.get(e.getKey()), bytes(in));
        }
        ort.runWithBinding(session, shape.runOptions(), shape.binding());
        shapes.putIfAbsent(id, shape);
        Map<String, OutputTensor> out = new HashMap<>();
        for (String output : fetch) {
            Output o = shape.outputs().get(output);
            if (o == null) {
                throw new InferenceException("model " + name + ": no output " + output);
            }
            memory.copyOut(o.device(), o.host(), (long) o.count() * Float.BYTES);
            out.put(output, new OutputTensor(o.shape().clone(), o.host().toArray(ValueLayout.JAVA_FLOAT)));
        }
        return out;
    }

    /** How many shape ids are bound (each a captured graph on CUDA). */
    public synchronized int boundShapes() {
        return shapes.size();
    }

    public boolean capturesGraphs() {
        return cudaGraphs;
    }

    private Shape bind(int id, Map<String, InputTensor> feeds, Map<String, long[]> outputShapes) {
        MemorySegment binding = ort.ioBinding(session);
        MemorySegment[] values = new MemorySegment[feeds.size() + outputShapes.size()];
        int v = 0;
        Map<String, long[]> inputs = new HashMap<>();
        Map<String, Output> outputs = new HashMap<>();
        MemorySegment runOptions = null;
        try {
            for (Map.Entry<String, InputTensor> e : feeds.entrySet()) {
                InputTensor in = e.getValue();
                MemorySegment buffer = inputBuffers.get(e.getKey());
                if (buffer == null || buffer.byteSize() < bytes(in)) {
                    throw new IllegalArgumentException("model " + name + ": input " + e.getKey() + " "
                            + Arrays.toString(in.shape()) + " does not fit its bound buffer");
                }
                int type = in.data() instanceof IntBuffer ? INT32 : INT64;
                values[v] = ort.tensor(memoryInfo, buffer, bytes(in), in.shape(), type);
                ort.bind(binding, e.getKey(), values[v++], true);
                inputs.put(e.getKey(), in.shape().clone());
            }
            for (Map.Entry<String, long[]> e : outputShapes.entrySet()) {
                int count = Math.toIntExact(Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b));
                long bytes = (long) count * Float.BYTES;
                MemorySegment device = memory.allocate(bytes);
                values[v] = ort.tensor(memoryInfo, device, bytes, e.getValue(), FLOAT);
                ort.bind(binding, e.getKey(), values[v++], false);
                MemorySegment host = this.host.allocate(Math.max(bytes, 1), 64);
                outputs.put(e.getKey(), new Output(device, host, e.getValue().clone(), count));
            }
            runOptions = ort.runOptions(cudaGraphs ? Map.of("gpu_graph_id", Integer.toString(id)) : Map.of());
            return new Shape(binding, runOptions, inputs, outputs, values);
        } catch (RuntimeException e) {
            ort.releaseRunOptions(runOptions);
            for (MemorySegment value : values) {
                ort.releaseValue(value);
            }
            ort.releaseIoBinding(binding);
            throw e;
        }
    }

    /** Gives an id's binding and values back; its output buffers stay until the memory closes. */
    private void release(Shape shape) {
        ort.releaseIoBinding(shape.binding());
        ort.releaseRunOptions(shape.runOptions());
        for (MemorySegment value : shape.values()) {
            ort.releaseValue(value);
        }
    }

    private static long bytes(InputTensor in) {
        return (long) in.size() * (in.data() instanceof IntBuffer ? Integer.BYTES : Long.BYTES);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shapes.values().forEach(this::release);
        shapes.clear();
        ort.releaseSession(session);
        ort.releaseMemoryInfo(memoryInfo);
        memory.close();
        host.close();
    }
}
