package io.tandem.ort;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionFactoryTest {

    private static final Path MODEL = Path.of("../models/src/test/resources/fixtures/m3-tiny/model.onnx");

    @Test
    void parsesDeviceChoices() {
        assertEquals(DeviceChoice.AUTO, DeviceChoice.parse("auto"));
        assertEquals(DeviceChoice.CPU, DeviceChoice.parse("CPU"));
        assertEquals(new DeviceChoice(DeviceChoice.Kind.CUDA, 0), DeviceChoice.parse("cuda"));
        assertEquals(new DeviceChoice(DeviceChoice.Kind.CUDA, 3), DeviceChoice.parse("cuda:3"));
        assertThrows(IllegalArgumentException.class, () -> DeviceChoice.parse("gpu"));
        assertThrows(IllegalArgumentException.class, () -> DeviceChoice.parse("cuda:-1"));
    }

    @Test
    void keepsOnlyTheCauseOfAProviderLoadFailure() {
        String ort = "Error code - ORT_FAIL - message: /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 "
                + "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load "
                + "library /tmp/x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file";
        assertEquals("libcublasLt.so.12: cannot open shared object file", SessionFactory.cause(ort));
        assertEquals("Failed to find CUDA shared provider", SessionFactory.cause("Failed to find CUDA shared provider"));
    }

    @Test
    void cpuSessionsReadTheGraphsInputsAndOutputs() {
        try (InferenceSession s = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.CPU, null, 1))) {
            assertEquals("cpu", s.device());
            assertNull(s.fallbackReason());
            assertEquals(java.util.List.of("input_ids", "attention_mask"), s.inputNames());
            assertTrue(s.outputShapes().keySet().containsAll(java.util.Set.of("dense_vecs", "sparse_weights", "colbert_vecs")));
        }
    }

    @Test
    void autoRunsOnCudaOrSaysWhyNot() {
        try (InferenceSession s = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.AUTO, null, 1))) {
            if (s.device().equals("cpu")) {
                assertNotNull(s.fallbackReason(), "a CPU fallback must say why");
                assertTrue(s.fallbackReason().startsWith("CUDA not usable ("));
            } else {
                assertEquals("cuda:0", s.device());
            }
        }
    }

    /** bench/gpu/kernel_profile.py reads this trace: one model_run per run, each node with its op. */
    @Test
    void aProfiledSessionWritesOrtsTraceWhenItCloses(@TempDir Path dir) throws IOException {
        Path prefix = dir.resolve("m3-2x5");
        try (InferenceSession s = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.CPU, null, 1, prefix))) {
            long[] ids = {0, 10, 11, 12, 2, 0, 13, 14, 15, 2};
            long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
            for (int run = 0; run < 3; run++) {
                Map<String, OutputTensor> out = s.run(Map.of(
                        "input_ids", new InputTensor(LongBuffer.wrap(ids), new long[] {2, 5}),
                        "attention_mask", new InputTensor(LongBuffer.wrap(mask), new long[] {2, 5})),
                        Set.of("dense_vecs"), false);
                assertEquals(2, out.get("dense_vecs").dim(0));
            }
        }
        List<Path> traces;
        try (Stream<Path> files = Files.list(dir)) {
            traces = files.filter(f -> f.getFileName().toString().startsWith("m3-2x5_")
                    && f.getFileName().toString().endsWith(".json")).toList();
        }
        assertEquals(1, traces.size(), "one trace, named after the prefix: " + traces);
        String trace = Files.readString(traces.getFirst());
        assertEquals(3, count(trace, "\"name\"\\s*:\\s*\"model_run\""));
        assertTrue(count(trace, "\"op_name\"\\s*:\\s*\"MatMul\"") >= 3, "the graph's MatMul nodes, every run");
        try (InferenceSession plain = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.CPU, null, 1))) {
            assertEquals("cpu", plain.device());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "a session without a prefix writes no trace");
        }
    }

    private static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
