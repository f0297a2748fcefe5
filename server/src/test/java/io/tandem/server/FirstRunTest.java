package io.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What a new user sees on the console, from a server started the way the jar starts it (the
 * Launcher, in its own JVM): the start-up log, and the one line for a busy port.
 */
class FirstRunTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path temp;

    private Process start(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "io.tandem.server.Launcher"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(Map.of("DJL_OFFLINE", "true", "RUST_FLAVOR", "cpu", "OPT_OUT_TRACKING", "true"));
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void jsonOutputIsOnlyJsonLinesWithDjlsMessagesAndEachLoadStepTimed() throws Exception {
        Path log = temp.resolve("server.log");
        int port = freePort();
        Process server = start(log, "--json-output", "--device", "cpu", "--hostname", "127.0.0.1",
                "--port", Integer.toString(port),
                "--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString());
        try {
            awaitHealthy(server, port, log);
        } finally {
            server.destroy(); // SIGTERM: the graceful stop logs too, and must stay JSON
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "server did not stop");
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        List<String> messages = new ArrayList<>();
        List<String> targets = new ArrayList<>();
        for (String line : lines) {
            assertFalse(line.contains("SLF4J"), line);
            JsonNode record;
            try {
                record = JSON.readTree(line);
            } catch (IOException e) {
                throw new AssertionError("not a JSON line: " + line + "\nwhole log:\n" + String.join("\n", lines), e);
            }
            assertTrue(record.isObject() && record.has("timestamp") && record.has("level"), line);
            assertEquals("INFO", record.path("level").asText(), "a first run warns about nothing: " + line);
            messages.add(record.path("fields").path("message").asText());
            targets.add(record.path("target").asText());
        }
        String all = String.join("\n", messages);
        // DJL's own lines, through slf4j-jdk14 into the JSON formatter.
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Found matching platform from: ")), all);
        assertTrue(targets.contains("Platform"), targets::toString);
        assertTrue(messages.stream().anyMatch(m -> Pattern.matches("ONNX Runtime 1\\.29\\.0 loaded in \\d+\\.\\d s", m)), all);
        assertTrue(messages.contains("embed: loading " + FIXTURES.resolve("m3-tiny")), all);
        assertTrue(messages.contains("rerank: loading " + FIXTURES.resolve("reranker-tiny")), all);
        for (String role : List.of("embed", "rerank")) {
            Pattern steps = Pattern.compile(role + ": tokenizer \\d+\\.\\d s, session \\d+\\.\\d s \\(cpu\\), warm-up \\d+\\.\\d s");
            assertTrue(messages.stream().anyMatch(m -> steps.matcher(m).matches()), all);
        }
        assertTrue(messages.stream().anyMatch(m -> Pattern.matches(
                "embed: loaded " + Pattern.quote(FIXTURES.resolve("m3-tiny").toString()) + " in \\d+\\.\\d s", m)), all);
        assertTrue(messages.contains("Tandem " + Tandem.VERSION + " listening on 127.0.0.1:" + port), all);
        assertEquals("stopped", messages.getLast(), all);
    }

    @Test
    void aBusyPortIsOneLineNamingThePortAndTheFlagBeforeAnyModelLoads() throws Exception {
        Path log = temp.resolve("busy.log");
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            long t0 = System.nanoTime();
            Process server = start(log, "--port", Integer.toString(port), "--embed-model",
                    FIXTURES.resolve("m3-tiny").toString());
            assertTrue(server.waitFor(60, TimeUnit.SECONDS));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            assertEquals(1, server.exitValue(), String.join("\n", lines));
            assertEquals(1, lines.size(), String.join("\n", lines));
            assertTrue(lines.getFirst().matches("\\S+ SEVERE Main: cannot start: port " + port
                    + " is already in use \\(0\\.0\\.0\\.0:" + port + "\\); stop what listens there or choose another"
                    + " port with --port"), lines.getFirst());
            assertTrue(seconds < 5, "took " + seconds + " s: the port must be checked before the models load");
        }
    }

    private static void awaitHealthy(Process server, int port, Path log) throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                fail("server exited with " + server.exitValue() + "\n" + Files.readString(log));
            }
            try {
                HttpResponse<Void> res = client.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/health")).build(), HttpResponse.BodyHandlers.discarding());
                if (res.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        fail("server not healthy in 120 s\n" + Files.readString(log));
    }
}
