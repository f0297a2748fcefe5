package io.tandem.server.hardening;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime 1.29 runs std::regex over the process command line when its environment is
 * created (POSIX telemetry), recursing once per character: with a long command line, a 1 MB
 * thread stack overflowed and the JVM died with SIGSEGV before serving anything. Main with a
 * 100,000-character argument (plus the full test class path) must start, serve and stop cleanly.
 */
class LongCommandLineTest {

    @TempDir
    Path temp;

    @Test
    void startsAndServesWithAVeryLongCommandLine() throws Exception {
        Hardening.Child child = Hardening.startChild(List.of("-Dtandem.test.padding=" + "x".repeat(100_000)),
                List.of("--embed-model", Hardening.M3_TINY.toString(), "--rerank-model", Hardening.RERANKER_TINY.toString(),
                        "--shutdown-grace-period", "10"), temp.resolve("server.log"));
        try {
            Hardening.awaitHealthy(child);
            var client = Hardening.client();
            assertEquals(200, Hardening.postJson(client, child.port(), "/embed", Map.of("inputs", "long command line")).status());
            assertEquals(200, Hardening.postJson(client, child.port(), "/rerank",
                    Map.of("query", "q", "texts", List.of("a", "b"))).status());
            child.process().destroy();
            assertTrue(child.process().waitFor(30, TimeUnit.SECONDS), child.tail());
            assertEquals(0, child.process().exitValue(), child.tail());
        } finally {
            child.process().destroyForcibly();
        }
    }
}
