package io.tandem.server.http;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.common.task.InterruptableTask;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * Helidon's HTTP/1 connection with {@link Http1Framing} between it and the socket: Helidon
 * reads its requests from the framing's canonical bytes, never from the socket itself. Also
 * where a connection ends: after an answer that says {@code Connection: close} (Helidon 4.5
 * sends that header and then goes on reading), and when the peer is too slow (the
 * {@link ConnectionTimeouts}).
 */
final class FramedHttp1 {

    private static final Logger LOG = Logger.getLogger(FramedHttp1.class.getName());
    /** Threads for reads started ahead: one per watched request, blocked on its socket. */
    private static final ExecutorService WATCHERS = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("client-watch-", 0).factory());

    private FramedHttp1() {
    }

    /**
     * The listener's only connection selector. It takes every connection but HTTP/2's prior
     * knowledge preface, so that a garbled first line still gets Helidon's 400.
     */
    static final class Selector implements ServerConnectionSelector {
        private final Http1Config http1;
        private final Http1ConnectionSelector helidon;
        private final ConnectionTimeouts timeouts;

        Selector(ConnectionTimeouts timeouts) {
            this.http1 = Http1Config.builder()
                    .addReceiveListener(ENDS_CONNECTION)
                    .addSendListener(ENDS_CONNECTION)
                    .build();
            this.helidon = Http1ConnectionSelector.builder().config(http1).build();
            this.timeouts = timeouts;
        }

        @Override
        public int bytesToIdentifyConnection() {
            return 0;
        }

        @Override
        public Support supports(BufferData data) {
            int lf = data.indexOf((byte) '\n');
            return lf >= 0 && data.readString(lf).endsWith(" HTTP/2.0\r") ? Support.UNSUPPORTED : Support.SUPPORTED;
        }

        @Override
        public Set<String> supportedApplicationProtocols() {
            return Set.of("http/1.1");
        }

        @Override
        public ServerConnection connection(ConnectionContext ctx) {
            Connection connection = new Connection(ctx, new Http1Framing(http1.maxPrologueLength(), http1.maxHeadersSize()),
                    timeouts);
            connection.http1 = helidon.connection(connection);
            return connection;
        }
    }

    /**
     * A request or an answer that says {@code Connection: close} is the connection's last: Helidon
     * finishes the exchange, then leaves its loop and the socket is closed.
     */
    private static final Http1ConnectionListener ENDS_CONNECTION = new Http1ConnectionListener() {
        @Override
        public void headers(ConnectionContext ctx, Headers headers) {
            if (ctx instanceof Connection c && headers.containsToken(HeaderValues.CONNECTION_CLOSE)) {
                c.http1.close(false);
            }
        }
    };

    /**
     * While a request is served, watches whether its client is still there: the connection's next
     * read is started ahead, and if it finds the stream's end before the answer is computed, the
     * serving thread is interrupted, so the core drops the request's inputs still queued instead
     * of computing them for nobody. Bytes the read-ahead finds (a pipelined request) are kept for
     * Helidon. Called on the serving thread once the request's body is read; a no-op elsewhere.
     */
    static void watchClient() {
        Connection c = SERVING.get();
        if (c != null) {
            c.watch();
        }
    }

    /** The request is answered: its client no longer matters to it. */
    static void stopWatchingClient() {
        Connection c = SERVING.get();
        if (c != null) {
            c.watched = null;
            Thread.interrupted(); // a hang-up seen just as the answer went out must not outlive it
        }
    }

    /** The connection a thread serves: Helidon serves an HTTP/1 connection's requests on its own thread. */
    private static final ThreadLocal<Connection> SERVING = new ThreadLocal<>();

    /** One connection: Helidon's, the framing in front of it, and its read deadline. */
    static final class Connection implements ServerConnection, InterruptableTask<Void>, ConnectionContext {
        private static final long NONE = Long.MIN_VALUE;

        private final ConnectionContext ctx;
        private final Http1Framing framing;
        private final ConnectionTimeouts timeouts;
        private final DataReader reader;
        private ServerConnection http1;
        private boolean violationReported;
        private long headStart = NONE;
        /** System.nanoTime() past which the blocked read is given up, or NONE while not reading. */
        private volatile long deadline = NONE;
        /** What the deadline is: "keep-alive timeout" or "request read timeout". */
        private volatile String deadlineKind;
        private volatile String expired;
        /** The socket's next read, started while a request is served; null when none is ahead. */
        private volatile CompletableFuture<byte[]> ahead;
        /** The thread serving a request whose client is watched, or null. */
        private volatile Thread watched;

        private Connection(ConnectionContext ctx, Http1Framing framing, ConnectionTimeouts timeouts) {
            this.ctx = ctx;
            this.framing = framing;
            this.timeouts = timeouts;
            this.reader = DataReader.create(this::next);
        }

        /** The next canonical bytes for Helidon; null at a clean end of the stream. */
        private byte[] next() {
            while (true) {
                if (framing.stopped()) {
                    if (!violationReported) {
                        violationReported = true;
                        Http1Framing.Violation v = framing.violation();
                        throw RequestException.builder()
                                .type(DirectHandler.EventType.BAD_REQUEST)
                                .status(Status.create(v.status()))
                                .message("Invalid request framing: " + v.reason())
                                .safeMessage(true)
                                .setKeepAlive(false)
                                .build();
                    }
                    throw new CloseConnectionException("request framing broken: " + framing.violation().reason());
                }
                byte[] raw = readSocket();
                if (raw == null) {
                    if (framing.betweenRequests()) {
                        return null;
                    }
                    LOG.fine(() -> "client " + remotePeer().host() + " closed its connection inside a request");
                    throw new CloseConnectionException("peer closed the connection inside a request");
                }
                byte[] out = framing.accept(raw, raw.length);
                if (!framing.inHead() || framing.betweenRequests()) {
                    headStart = NONE;
                } else if (headStart == NONE) {
                    headStart = System.nanoTime();
                }
                if (out.length > 0) {
                    return out;
                }
            }
        }

        private byte[] readSocket() {
            deadlineKind = framing.betweenRequests() ? "keep-alive timeout" : "request read timeout";
            deadline = deadlineForRead();
            try {
                CompletableFuture<byte[]> pending = ahead;
                if (pending == null) {
                    return readNow();
                }
                ahead = null;
                try {
                    // Interruptible (join is not): a server that stops interrupts its connections' threads.
                    return pending.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CloseConnectionException("connection closed while waiting for the client");
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (RuntimeException e) {
                if (expired != null) {
                    throw new CloseConnectionException(expired);
                }
                throw e;
            } finally {
                deadline = NONE;
            }
        }

        /** The socket's next bytes; null at the end of the stream. */
        private byte[] readNow() {
            try {
                DataReader socket = ctx.dataReader();
                socket.ensureAvailable();
                return socket.readBytes(socket.available());
            } catch (DataReader.InsufficientDataAvailableException e) {
                return null;
            }
        }

        private void watch() {
            Thread serving = Thread.currentThread();
            watched = serving;
            if (ahead == null) {
                CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(this::readNow, WATCHERS);
                ahead = read;
                read.whenComplete((bytes, failure) -> {
                    if (bytes == null && watched == serving) {
                        LOG.fine(() -> "client " + remotePeer().host() + " left before its answer");
                        serving.interrupt();
                    }
                });
            }
        }

        private long deadlineForRead() {
            long now = System.nanoTime();
            if (framing.betweenRequests()) {
                return at(now, timeouts.keepAlive());
            }
            // A head must be complete in time from its first byte; a body must not stall that long.
            return at(framing.inHead() && headStart != NONE ? headStart : now, timeouts.headerRead());
        }

        private static long at(long from, Duration timeout) {
            return timeout.isZero() ? NONE : from + timeout.toNanos();
        }

        /** Called by the timeout thread: past the deadline, the socket is closed under the blocked read. */
        void expireIfDue(long now) {
            long d = deadline;
            if (d != NONE && now - d > 0) {
                deadline = NONE;
                expired = deadlineKind;
                LOG.fine(() -> "closing connection from " + remotePeer().host() + ": " + expired);
                try {
                    ctx.serverSocket().close();
                } catch (RuntimeException e) {
                    // Helidon's close shuts output down first, which fails on a socket the peer reset;
                    // interrupting the blocked read closes the channel all the same.
                    http1.close(true);
                }
            }
        }

        @Override
        public void handle(Limit limit) throws InterruptedException {
            timeouts.add(this);
            SERVING.set(this);
            try {
                http1.handle(limit);
            } finally {
                SERVING.remove();
                timeouts.remove(this);
                CompletableFuture<byte[]> pending = ahead;
                if (pending != null) {
                    pending.cancel(true);
                }
            }
        }

        @Override
        public Duration idleTime() {
            return http1.idleTime();
        }

        @Override
        public void close(boolean interrupt) {
            http1.close(interrupt);
        }

        @Override
        public boolean canInterrupt() {
            return http1 instanceof InterruptableTask<?> task && task.canInterrupt();
        }

        @Override
        public DataReader dataReader() {
            return reader;
        }

        @Override
        public ListenerContext listenerContext() {
            return ctx.listenerContext();
        }

        @Override
        public ExecutorService executor() {
            return ctx.executor();
        }

        @Override
        public DataWriter dataWriter() {
            return ctx.dataWriter();
        }

        @Override
        public Router router() {
            return ctx.router();
        }

        @Override
        public Optional<ProxyProtocolData> proxyProtocolData() {
            return ctx.proxyProtocolData();
        }

        @Override
        public HelidonSocket serverSocket() {
            return ctx.serverSocket();
        }

        @Override
        public PeerInfo remotePeer() {
            return ctx.remotePeer();
        }

        @Override
        public PeerInfo localPeer() {
            return ctx.localPeer();
        }

        @Override
        public boolean isSecure() {
            return ctx.isSecure();
        }

        @Override
        public String socketId() {
            return ctx.socketId();
        }

        @Override
        public String childSocketId() {
            return ctx.childSocketId();
        }
    }
}
