package io.tandem.server.http;

import io.helidon.webserver.WebServer;
import io.tandem.models.ModelOptions;
import io.tandem.models.infer.BatchRunner;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceListener;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.ModelOutput;
import io.tandem.ort.DeviceChoice;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;
import io.tandem.server.core.ServedModel;
import io.tandem.server.metrics.MetricsRegistry;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Work nobody waits for is not done: a client that hangs up while its request waits in the
 * queue gets its inputs dropped before they run, and nothing is logged as a warning.
 */
class ClientGoneTest {

    private static final Path M3_TINY = Path.of("../models/src/test/resources/fixtures/m3-tiny").toAbsolutePath().normalize();

    @Test
    void aClientThatHangsUpHasItsQueuedInputsDropped() throws Exception {
        Semaphore gate = new Semaphore(0);
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger dropped = new AtomicInteger();
        List<List<Integer>> batches = Collections.synchronizedList(new ArrayList<>());
        InferenceListener listener = new InferenceListener() {
            @Override
            public void batchFormed(List<Integer> rowLengths) {
                batches.add(rowLengths);
            }

            @Override
            public void inputDropped() {
                dropped.incrementAndGet();
            }
        };
        ServerConfig config = Flags.parse(new String[] {"--device", "cpu"}, Map.of());
        Model m3 = Model.load("m3-tiny", M3_TINY, new ModelOptions(DeviceChoice.CPU, null, null, 0));
        Inference inference = Inference.builder(m3).settings(config.embed().inference()).listener(listener).runners(1)
                .wrapRunner(real -> batch -> {
                    BatchRunner.Prepared<ModelOutput> prepared = real.prepare(batch);
                    return () -> {
                        gate.acquireUninterruptibly();
                        ran.addAndGet(batch.size());
                        return prepared.run();
                    };
                }).start();
        ServedModel embed = new ServedModel("embed", inference, config.embed());
        TeiRoutes routes = new TeiRoutes(new MetricsRegistry(), List.of(embed), 1, "test");
        List<LogRecord> logged = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    logged.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try (HttpListeners listeners = new HttpListeners(Duration.ofSeconds(10), Duration.ofSeconds(60), 64)) {
            WebServer server = listeners.apply(WebServer.builder()).host("127.0.0.1").port(0).shutdownHook(false)
                    .featuresDiscoverServices(false)
                    .routing(r -> routes.main(r, new Surface(embed, null, false)))
                    .build().start();
            try (Socket busy = new Socket("127.0.0.1", server.port());
                 Socket leaving = new Socket("127.0.0.1", server.port())) {
                // The first request's batch is held at the gate: the model is busy.
                send(busy, "{\"inputs\":[\"first\"]}");
                waitFor(() -> batches.size() == 1);
                // The second request's five inputs wait in the queue behind it; then its client leaves.
                send(leaving, "{\"inputs\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}");
                Thread.sleep(200);
                assertEquals(1, batches.size(), "the waiting inputs were not cut yet");
                leaving.close();
                Thread.sleep(300); // the server notices the hang-up and gives the request up
                gate.release(1000);
                String answer = read(busy);
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                waitFor(() -> dropped.get() == 5);
                assertEquals(1, ran.get(), "only the first request's input was computed");
                assertEquals(1, batches.size());
            } finally {
                server.stop();
            }
        } finally {
            root.removeHandler(capture);
            gate.release(1000);
            inference.close();
        }
        assertEquals(List.of(), logged.stream().map(r -> r.getLevel() + " " + r.getLoggerName() + ": "
                + r.getMessage()).toList(), "a client that leaves is no server fault");
    }

    private static void send(Socket socket, String json) throws Exception {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /embed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static String read(Socket socket) throws Exception {
        socket.setSoTimeout(10_000);
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[64];
        int n = in.read(buf);
        return n > 0 ? new String(buf, 0, n, StandardCharsets.US_ASCII) : "";
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting");
            Thread.sleep(5);
        }
    }
}
