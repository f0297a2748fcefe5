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
        static final OrtEnvironment ENV = create();
    }

    /**
     * Creates the environment on a thread with a stack sized to the process command line. ORT
     * 1.29's POSIX telemetry matches the command line with std::regex, which recurses for every
     * character (about 200 bytes of stack each): with a long command line, such as {@code -cp}
     * and a list of jars, a default 1 MB thread stack overflows and the JVM dies with SIGSEGV
     * and no crash report (microsoft/onnxruntime#32173).
     */
    private static OrtEnvironment create() {
        long commandLine;
        try {
            commandLine = Files.readAllBytes(Path.of("/proc/self/cmdline")).length;
        } catch (java.io.IOException | RuntimeException e) {
            commandLine = 0;
        }
        long stack = Math.min((64L << 20) + commandLine * 1024, 1L << 30);
        // Warnings only: ORT's native logger writes to stderr regardless of Java logging.
        OrtEnvironment env = LargeStack.call("ort-init", stack,
                () -> OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "tandem"));
        try {
            // ORT's Linux build would otherwise report usage to Microsoft.
            env.setTelemetry(false);
        } catch (ai.onnxruntime.OrtException e) {
            // Not fatal: inference works either way.
        }
        return env;
    }
}
