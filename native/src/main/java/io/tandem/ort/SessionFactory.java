package io.tandem.ort;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;

import java.util.logging.Logger;

/**
 * Opens sessions on the requested device. ORT lists CUDA as available even where its
 * libraries are missing, so CUDA is detected only by trying to append the provider; on
 * {@code auto} a failure falls back to CPU with the reason kept for the log and /info.
 */
public final class SessionFactory {

    private static final Logger LOG = Logger.getLogger(SessionFactory.class.getName());

    private SessionFactory() {
    }

    public static InferenceSession open(SessionSpec spec) {
        return open(spec, null);
    }

    /**
     * As {@link #open(SessionSpec)}, running {@code graph} (a serialised ONNX model, e.g. a
     * rewrite of the spec's file) in place of the file when it is not null.
     */
    public static InferenceSession open(SessionSpec spec, byte[] graph) {
        // The environment must exist before any provider options are made: ORT logs through it.
        OrtRuntime.env();
        String fallbackReason = null;
        if (spec.device().triesCuda()) {
            int deviceId = spec.device().deviceId();
            long t0 = System.nanoTime();
            try {
                OrtSession.SessionOptions options = cudaOptions(spec, deviceId);
                return createOnDevice(spec, graph, options, "cuda:" + deviceId);
            } catch (OrtException | RuntimeException e) {
                if (spec.device().kind() == DeviceChoice.Kind.CUDA) {
                    throw new DeviceUnusableException("model " + spec.name() + ": CUDA device " + deviceId
                            + " is not usable: " + firstLine(e.getMessage()), e);
                }
                fallbackReason = "CUDA not usable (" + cause(e.getMessage()) + ")";
                // --device auto asked for CUDA only where it works: the CPU is an expected outcome
                // (a laptop, a CI runner), not a fault; --device cuda makes it an error above.
                // The attempt unpacks ORT's 600 MB CUDA provider from its jar: seconds worth naming.
                LOG.info("model " + spec.name() + " runs on CPU: " + fallbackReason + "; trying CUDA took "
                        + String.format(java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - t0) / 1e9)
                        + " (--device cpu skips it)");
            }
        }
        try {
            return create(spec, graph, cpuOptions(spec), "cpu", fallbackReason);
        } catch (OrtException e) {
            throw new InferenceException("model " + spec.name() + ": cannot open " + spec.modelFile().getFileName()
                    + ": " + firstLine(e.getMessage()), e);
        }
    }

    /** A CUDA session: its weights are allocated on the device, which a graph capture must not see. */
    private static InferenceSession createOnDevice(SessionSpec spec, byte[] graph, OrtSession.SessionOptions options,
                                                   String device) throws OrtException {
        return DeviceLock.shared(() -> create(spec, graph, options, device, null));
    }

    private static InferenceSession create(SessionSpec spec, byte[] graph, OrtSession.SessionOptions options,
                                           String device, String fallbackReason) throws OrtException {
        try (options) {
            OrtSession session = graph != null
                    ? OrtRuntime.env().createSession(graph, options)
                    : OrtRuntime.env().createSession(spec.modelFile().toString(), options);
            return new InferenceSession(spec.name(), session, device, fallbackReason);
        }
    }

    private static OrtSession.SessionOptions cudaOptions(SessionSpec spec, int deviceId) throws OrtException {
        OrtSession.SessionOptions options = baseOptions(spec);
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(deviceId)) {
            // Each model owns its arena; kSameAsRequested keeps it from doubling past what
            // a batch needs, and the cap keeps one model from starving the other.
            cuda.add("arena_extend_strategy", "kSameAsRequested");
            if (spec.gpuMemLimit() != null) {
                cuda.add("gpu_mem_limit", Long.toString(spec.gpuMemLimit()));
            }
            options.addCUDA(cuda);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
        // Weights outside the arena, so arena shrinkage can hand scratch memory back.
        options.addConfigEntry("session.use_device_allocator_for_initializers", "1");
        return options;
    }

    /**
     * Batches the inference core runs at once on the CPU (io.tandem.models.infer.Inference), each
     * on its own thread: the cores are shared out between them.
     */
    public static final int CPU_BATCHES_AT_ONCE = 2;

    private static OrtSession.SessionOptions cpuOptions(SessionSpec spec) throws OrtException {
        OrtSession.SessionOptions options = baseOptions(spec);
        if (spec.intraOpThreads() <= 0) {
            // The cores shared out between the batches running at once. On 2 cores (bench/cpu): two
            // batches of one thread each 61-69 texts/s, of two threads each 56; a lone query takes
            // 7.7 ms against 6.3 with two threads.
            options.setIntraOpNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors() / CPU_BATCHES_AT_ONCE));
        }
        return options;
    }

    private static OrtSession.SessionOptions baseOptions(SessionSpec spec) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        // Shapes change with every batch: a memory pattern planned for one shape is waste.
        options.setMemoryPatternOptimization(false);
        if (spec.intraOpThreads() > 0) {
            options.setIntraOpNumThreads(spec.intraOpThreads());
        }
        // Idle ORT threads must not spin on the cores the tokenizers and HTTP need.
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        if (spec.profilePrefix() != null) {
            options.enableProfiling(spec.profilePrefix().toString());
        }
        return options;
    }

    /**
     * The part of ORT's provider-loading error that says why ("libcublasLt.so.12: cannot open
     * shared object file ..."), without its source-file prefix.
     */
    static String cause(String message) {
        String line = firstLine(message);
        int at = line.lastIndexOf("with error: ");
        if (at >= 0) {
            return line.substring(at + "with error: ".length());
        }
        at = line.lastIndexOf("] : ");
        return at >= 0 ? line.substring(at + 4) : line;
    }

    static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
