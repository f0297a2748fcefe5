package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 11, item 4: slow or idle peers do not hold connections for ever, and their hang-ups do
 * not flood the log. Short timeouts through the flags, so each case takes about a second.
 */
class ConnectionLimitsTest {

    private static final long HEADER_MS = 600;
    private static final long KEEP_ALIVE_MS = 1200;
    private static final int MAX_CONNECTIONS = 6;

    private static Tandem tandem;
    private static final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private static final Handler CAPTURE = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.INFO.intValue()) {
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

    @BeforeAll
    static void start() {
        tandem = Hardening.startTiny("--header-read-timeout", "0.6", "--keep-alive-timeout", "1.2",
                "--max-connections", Integer.toString(MAX_CONNECTIONS));
        Logger.getLogger("").addHandler(CAPTURE);
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("").removeHandler(CAPTURE);
        if (tandem != null) {
            tandem.close();
        }
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", tandem.port()), 10_000);
        return s;
    }

    /** Milliseconds until the server closes the socket (reading and dropping what it sends); fails past {@code maxMs}. */
    private static long millisUntilClosed(Socket s, long startNanos, long maxMs) throws IOException {
        s.setSoTimeout((int) maxMs);
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // a response, if any
            }
        } catch (SocketTimeoutException e) {
            fail("still open after " + maxMs + " ms");
        } catch (java.net.SocketException e) {
            // reset: closed as well
        }
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    @Test
    void aSlowlorisHeadIsCutAtTheHeaderTimeout() throws Exception {
        try (Socket s = connect()) {
            long t0 = System.nanoTime();
            write(s, "POST /embed HTTP/1.1\r\nHost: x\r\n");
            // One header byte every 100 ms: always sending, never finishing.
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        Thread.sleep(100);
                        write(s, "X");
                    }
                } catch (IOException | InterruptedException e) {
                    // closed by the server: expected
                }
            });
            long ms = millisUntilClosed(s, t0, 5_000);
            trickle.interrupt();
            assertTrue(ms >= HEADER_MS - 50 && ms < HEADER_MS + 1_000, "closed after " + ms + " ms");
        }
    }

    @Test
    void aStalledBodyIsCutAtTheHeaderTimeout() throws Exception {
        try (Socket s = connect()) {
            long t0 = System.nanoTime();
            write(s, "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"in");
            long ms = millisUntilClosed(s, t0, 5_000);
            assertTrue(ms >= HEADER_MS - 50 && ms < HEADER_MS + 1_000, "closed after " + ms + " ms");
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAtTheKeepAliveTimeout() throws Exception {
        try (Socket s = connect()) {
            write(s, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            s.setSoTimeout(5_000);
            assertEquals(200, Hardening.readResponse(s.getInputStream()).status());
            // Still usable before the timeout...
            Thread.sleep(KEEP_ALIVE_MS / 2);
            write(s, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(200, Hardening.readResponse(s.getInputStream()).status());
            long t0 = System.nanoTime();
            // ...closed after it.
            long ms = millisUntilClosed(s, t0, 5_000);
            assertTrue(ms >= KEEP_ALIVE_MS - 50 && ms < KEEP_ALIVE_MS + 1_000, "closed after " + ms + " ms");
        }
        // A connection that never sends a byte is idle too.
        try (Socket s = connect()) {
            long ms = millisUntilClosed(s, System.nanoTime(), 5_000);
            assertTrue(ms < KEEP_ALIVE_MS + 1_000, "closed after " + ms + " ms");
        }
    }

    @Test
    void connectionsOverTheMaximumWaitForAFreeOne() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                idle.add(connect());
            }
            Thread.sleep(200);
            try (Socket extra = connect()) {
                long t0 = System.nanoTime();
                write(extra, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                extra.setSoTimeout(10_000);
                assertEquals(200, Hardening.readResponse(extra.getInputStream()).status());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                // Answered only once the idle ones had been closed by the keep-alive timeout.
                assertTrue(ms >= KEEP_ALIVE_MS - 400, "answered after " + ms + " ms, with all connections taken");
            }
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void hangUpsMidRequestLogNothingAboveFine() throws Exception {
        logged.clear();
        for (int i = 0; i < 20; i++) {
            try (Socket s = connect()) {
                write(s, i % 2 == 0 ? "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Ty"
                        : "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{");
            }
        }
        try (Socket s = connect()) {
            // The server is fine, and it has seen all 20 by now.
            write(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            s.setSoTimeout(5_000);
            assertEquals(200, Hardening.readResponse(s.getInputStream()).status());
        }
        Thread.sleep(300);
        List<String> lines = logged.stream().map(r -> r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()).toList();
        assertEquals(List.of(), lines);
    }
}
