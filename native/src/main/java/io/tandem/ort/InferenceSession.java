package io.tandem.ort;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One model's ONNX Runtime session: integer inputs in (int64 ids, int32 offsets of packed
 * graphs), fp32 copies of the requested outputs back. Concurrent runs on one CUDA session serialise anyway, so a
 * model is meant to be driven by its own single inference thread.
 */
public final class InferenceSession implements AutoCloseable {

    private final String name;
    private final OrtSession session;
    private final String device;
    private final String fallbackReason;
    private final List<String> inputNames;
    private final Map<String, long[]> outputShapes;

    InferenceSession(String name, OrtSession session, String device, String fallbackReason) throws OrtException {
        this.name = name;
        this.session = session;
        this.device = device;
        this.fallbackReason = fallbackReason;
        this.inputNames = new ArrayList<>();
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            if (!(e.getValue().getInfo() instanceof TensorInfo info)
                    || info.type != OnnxJavaType.INT64 && info.type != OnnxJavaType.INT32) {
                throw new InferenceException("model " + name + ": input " + e.getKey()
                        + " must be an int64 or int32 tensor, found " + e.getValue().getInfo());
            }
            inputNames.add(e.getKey());
        }
        this.outputShapes = new LinkedHashMap<>();
        for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
            if (e.getValue().getInfo() instanceof TensorInfo info) {
                outputShapes.put(e.getKey(), info.getShape());
            }
        }
    }

    public String name() {
        return name;
    }

    /** "cuda:N" or "cpu": where the session actually runs. */
    public String device() {
        return device;
    }

    /** Why an {@code auto} session is on the CPU, or null. */
    public String fallbackReason() {
        return fallbackReason;
    }

    public List<String> inputNames() {
        return inputNames;
    }

    /** Output names with their declared shapes (-1 for dynamic axes). */
    public Map<String, long[]> outputShapes() {
        return outputShapes;
    }

    /**
     * Runs one batch on the given inputs (one per graph input) and copies the asked outputs.
     *
     * @param shrinkArena give unused CUDA arena memory back after this run (after an
     *                    unusually large batch, so one spike does not hold memory forever)
     */
    public Map<String, OutputTensor> run(Map<String, InputTensor> inputs, Set<String> outputs, boolean shrinkArena) {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try {
            for (String input : inputNames) {
                InputTensor in = inputs.get(input);
                if (in == null) {
                    throw new InferenceException("model " + name + ": no values for input " + input);
                }
                tensors.put(input, tensor(in));
            }
            try (OrtSession.RunOptions options = runOptions(shrinkArena);
                 OrtSession.Result result = run(tensors, outputs, options)) {
                Map<String, OutputTensor> out = new HashMap<>();
                for (String output : outputs) {
                    OnnxValue value = result.get(output).orElseThrow(
                            () -> new InferenceException("model " + name + ": no output " + output));
                    OnnxTensor tensor = (OnnxTensor) value;
                    FloatBuffer data = tensor.getFloatBuffer();
                    if (data == null) {
                        throw new InferenceException("model " + name + ": output " + output + " is not a float tensor");
                    }
                    float[] values = new float[data.remaining()];
                    data.get(values);
                    out.put(output, new OutputTensor(tensor.getInfo().getShape(), values));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new InferenceException(SessionFactory.firstLine(e.getMessage()), e);
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private OrtSession.Result run(Map<String, OnnxTensor> tensors, Set<String> outputs, OrtSession.RunOptions options)
            throws OrtException {
        return device.startsWith("cuda:") ? DeviceLock.shared(() -> session.run(tensors, outputs, options))
                : session.run(tensors, outputs, options);
    }

    private static OnnxTensor tensor(InputTensor in) throws OrtException {
        int size = in.size();
        if (in.data() instanceof LongBuffer longs) {
            return OnnxTensor.createTensor(OrtRuntime.env(), longs.duplicate().position(0).limit(size), in.shape());
        }
        IntBuffer ints = (IntBuffer) in.data();
        return OnnxTensor.createTensor(OrtRuntime.env(), ints.duplicate().position(0).limit(size), in.shape());
    }

    private OrtSession.RunOptions runOptions(boolean shrinkArena) throws OrtException {
        OrtSession.RunOptions options = new OrtSession.RunOptions();
        if (shrinkArena && device.startsWith("cuda:")) {
            options.addRunConfigEntry("memory.enable_memory_arena_shrinkage", "gpu:" + device.substring(5));
        }
        return options;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new InferenceException("closing " + name + ": " + e.getMessage(), e);
        }
    }
}
