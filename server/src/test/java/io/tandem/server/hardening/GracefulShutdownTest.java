package io.tandem.server.hardening;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * SIGTERM under load loses no accepted request: the server (a child JVM running Main, as in
 * production, on the built-in bge-small-zh) is stopped while 8 clients send /embed batches
 * continuously. Every response that comes back is a complete 200, every request that was in
 * flight when the signal came is answered, and the process exits 0 within the grace period.
 */
class GracefulShutdownTest {

    private static final int CLIENTS = 8;
    private static final int GRACE_SECONDS = 20;
    /** Sent this long before the signal and unanswered then: surely accepted by the server. */
    private static final long SURELY_ACCEPTED_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    @TempDir
    Path temp;

    /** What became of one request. */
    private record Attempt(long sentAt, long doneAt, String outcome, int status) {
    }

    @Test
    void sigtermUnderLoadAnswersEveryAcceptedRequestAndExitsZero() throws Exception {
        Hardening.Child child = Hardening.startChild(List.of(), List.of("--shutdown-grace-period",
                Integer.toString(GRACE_SECONDS), "--tokenization-workers", "1"), temp.resolve("server.log"));
        Process server = child.process();
        int port = child.port();
        try {
            Hardening.awaitHealthy(child);
            List<Attempt> attempts = Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean stop = new AtomicBoolean();
            long signalledAt;
            long exitedAt;
            int exitCode;
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> running = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    running.add(clients.submit(() -> {
                        for (int i = 0; !stop.get(); i++) {
                            attempts.add(send(port, client, i));
                        }
                        return null;
                    }));
                }
                Thread.sleep(3000);
                // Signal while some request has surely been accepted and is still being computed.
                long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (OUTSTANDING.values().stream().noneMatch(t -> System.nanoTime() - t > SURELY_ACCEPTED_NANOS + 100_000_000L)
                        && System.nanoTime() < waitUntil) {
                    Thread.sleep(10);
                }
                signalledAt = System.nanoTime();
                server.destroy(); // SIGTERM
                boolean exited = server.waitFor(GRACE_SECONDS + 30, TimeUnit.SECONDS);
                exitedAt = System.nanoTime();
                stop.set(true);
                for (Future<?> f : running) {
                    f.get(60, TimeUnit.SECONDS);
                }
                if (!exited) {
                    fail("no exit " + (GRACE_SECONDS + 30) + " s after SIGTERM\n" + child.tail());
                }
                exitCode = server.exitValue();
            }

            Map<String, Integer> outcomes = new TreeMap<>();
            int inFlightAtSignal = 0;
            int answeredAfterSignal = 0;
            List<String> bad = new ArrayList<>();
            for (Attempt a : attempts) {
                outcomes.merge(a.outcome(), 1, Integer::sum);
                boolean answered = a.outcome().equals("answered");
                if (answered && a.status() != 200) {
                    bad.add("status " + a.status());
                }
                if (a.outcome().equals("cut")) {
                    bad.add("response cut off after it had started");
                }
                boolean surelyAccepted = a.sentAt() < signalledAt - SURELY_ACCEPTED_NANOS && a.doneAt() > signalledAt;
                if (surelyAccepted) {
                    inFlightAtSignal++;
                    if (!answered) {
                        bad.add("in flight at SIGTERM (sent " + (signalledAt - a.sentAt()) / 1_000_000 + " ms before) but "
                                + a.outcome());
                    }
                }
                if (answered && a.doneAt() > signalledAt) {
                    answeredAfterSignal++;
                }
            }
            String summary = "outcomes " + outcomes + ", in flight at SIGTERM: " + inFlightAtSignal
                    + ", answered after SIGTERM: " + answeredAfterSignal + ", exit " + exitCode + " after "
                    + (exitedAt - signalledAt) / 1_000_000 + " ms";
            System.out.println("graceful shutdown: " + summary);
            assertTrue(bad.isEmpty(), bad.size() + " lost or failed requests, e.g. " + bad.subList(0, Math.min(5, bad.size()))
                    + "\n" + summary + "\n" + child.tail());
            assertTrue(outcomes.getOrDefault("answered", 0) > CLIENTS, summary);
            assertTrue(inFlightAtSignal > 0, "requests were in flight when the signal came: " + summary);
            assertTrue(answeredAfterSignal > 0, "requests were still running when the signal came: " + summary);
            assertEquals(0, exitCode, summary + "\n" + child.tail());
            assertTrue(exitedAt - signalledAt < TimeUnit.SECONDS.toNanos(GRACE_SECONDS), "exited within the grace period: "
                    + summary);
        } finally {
            server.destroyForcibly();
        }
    }

    /** One /embed batch over its own connection (Connection: close), read to the last byte. */
    /** Requests written and not yet answered: id to the time their last byte was written. */
    private static final java.util.concurrent.ConcurrentHashMap<Long, Long> OUTSTANDING = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.concurrent.atomic.AtomicLong IDS = new java.util.concurrent.atomic.AtomicLong();

    private static Attempt send(int port, int client, int i) {
        long id = IDS.incrementAndGet();
        try {
            return sendOnce(port, client, i, id);
        } finally {
            OUTSTANDING.remove(id);
        }
    }

    private static Attempt sendOnce(int port, int client, int i, long id) {
        StringBuilder inputs = new StringBuilder("[");
        for (int k = 0; k < 24; k++) {
            inputs.append(k > 0 ? "," : "").append("\"客户 ").append(client).append(" 请求 ").append(i).append(" 第 ").append(k)
                    .append(" 句：向量检索需要高质量的文本表示，今天天气很好，我们去公园散步吧。\"");
        }
        byte[] body = ("{\"inputs\":" + inputs + "]}").getBytes(StandardCharsets.UTF_8);
        byte[] head = ("POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        long sentAt = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write(head);
            out.write(body);
            out.flush();
            sentAt = System.nanoTime();
            OUTSTANDING.put(id, sentAt);
            Hardening.RawReply r = Hardening.readResponse(s.getInputStream());
            if (r.status() == -1) {
                return new Attempt(sentAt, System.nanoTime(), "closed unanswered", -1);
            }
            return new Attempt(sentAt, System.nanoTime(), "answered", r.status());
        } catch (ConnectException e) {
            sleep();
            return new Attempt(sentAt, System.nanoTime(), "refused", -1);
        } catch (IOException e) {
            // A status line came, then the connection broke: an accepted request lost mid-response.
            String outcome = e.getMessage() != null && e.getMessage().startsWith("response cut") ? "cut" : "io error before answer";
            return new Attempt(sentAt, System.nanoTime(), outcome, -1);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
