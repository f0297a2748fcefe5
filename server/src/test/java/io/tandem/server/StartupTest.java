package io.tandem.server;

import io.tandem.models.ModelLoadException;
import io.tandem.server.config.Flags;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configurations that must stop the start with a message saying what is wrong. */
class StartupTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();

    private static RuntimeException startFails(String... args) {
        return assertThrows(RuntimeException.class, () -> Tandem.start(Flags.parse(args, Map.of())).close());
    }

    @Test
    void spladePoolingIsRefusedWithTheWayToBgeM3Sparse() {
        RuntimeException e = startFails("--device", "cpu", "--port", "0", "--pooling", "splade",
                "--embed-model", FIXTURES.resolve("m3-tiny").toString());
        assertEquals(ModelLoadException.class, e.getClass());
        assertTrue(e.getMessage().contains("export-m3"), e.getMessage());
    }

    @Test
    void poolingCannotBeChangedOnAGraphThatPoolsItself() {
        // m3-tiny's dense output is pooled inside the graph: the flag would be ignored while /info reported it.
        RuntimeException e = startFails("--device", "cpu", "--port", "0", "--pooling", "mean",
                "--embed-model", FIXTURES.resolve("m3-tiny").toString());
        assertEquals(ModelLoadException.class, e.getClass());
        assertEquals("model " + FIXTURES.resolve("m3-tiny") + ": --pooling mean cannot apply: the graph outputs a "
                + "pooled vector (dense_vecs); export it with last_hidden_state (models/export/tandem_export.py "
                + "export-plain) to choose the pooling", e.getMessage());
    }

    @Test
    void aRerankerCannotFillTheEmbedderSlot() {
        RuntimeException e = startFails("--device", "cpu", "--port", "0",
                "--embed-model", FIXTURES.resolve("reranker-tiny").toString());
        assertTrue(e.getMessage().contains("is a reranker, not an embedder"), e.getMessage());
    }

    @Test
    void aCudaOnlyExportSaysSoOnTheCpu() {
        RuntimeException e = startFails("--device", "cpu", "--port", "0",
                "--embed-model", FIXTURES.resolve("m3-tiny-cuda").toString());
        assertEquals(ModelLoadException.class, e.getClass());
        assertTrue(e.getMessage().contains("runs only on CUDA") && e.getMessage().contains("export-m3"), e.getMessage());
    }

    @Test
    void aPortInUseStopsTheStart() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            RuntimeException e = startFails("--device", "cpu", "--port", Integer.toString(taken.getLocalPort()),
                    "--embed-model", FIXTURES.resolve("m3-tiny").toString());
            assertEquals("port " + taken.getLocalPort() + " is already in use (0.0.0.0:" + taken.getLocalPort()
                    + "); stop what listens there or choose another port with --port", e.getMessage());
        }
    }

    @Test
    void modelIdFillsTheSlotOfItsKind() {
        try (Tandem t = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
            "--model-id", FIXTURES.resolve("reranker-tiny").toString()}, Map.of()))) {
            assertEquals("rerank", t.models().get(1).role());
            assertEquals(2, t.models().size(), "the built-in embedder fills the other slot");
        }
    }
}
