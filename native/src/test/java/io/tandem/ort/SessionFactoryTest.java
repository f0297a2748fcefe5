package io.tandem.ort;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

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
}
