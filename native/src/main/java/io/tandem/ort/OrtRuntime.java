package io.tandem.ort;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process-wide ONNX Runtime environment. ORT allows one per JVM, and where its native
 * libraries come from must be decided before the first ORT class loads.
 */
public final class OrtRuntime {

    private static final String NATIVE_PATH = "onnxruntime.native.path";

    private OrtRuntime() {
    }

    /**
     * Points ORT at a folder of pre-extracted native libraries, so that it does not copy its
     * 600 MB CUDA provider out of the jar at every start. Only effective before {@link #env()}.
     */
    public static void useNativeLibraries(Path dir) {
        if (!Files.isRegularFile(dir.resolve("libonnxruntime.so"))) {
            throw new IllegalArgumentException("no libonnxruntime.so in " + dir);
        }
        System.setProperty(NATIVE_PATH, dir.toAbsolutePath().toString());
    }

    public static OrtEnvironment env() {
        return Holder.ENV;
    }

    public static String version() {
        return env().getVersion();
    }

    private static final class Holder {
        // Warnings only: ORT's native logger writes to stderr regardless of Java logging.
        static final OrtEnvironment ENV = OrtEnvironment.getEnvironment(
                OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "tandem");
    }
}
