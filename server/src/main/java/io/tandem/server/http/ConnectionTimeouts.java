package io.tandem.server.http;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One thread per server that closes connections whose peer is too slow: idle between requests
 * longer than the keep-alive timeout, or sending a request head (or stalling in a body) longer
 * than the header-read timeout. A blocking NIO read has no timeout of its own, so the socket is
 * closed under it; a zero timeout is off.
 */
final class ConnectionTimeouts implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ConnectionTimeouts.class.getName());

    private final Duration headerRead;
    private final Duration keepAlive;
    private final Set<FramedHttp1.Connection> open = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean closed;

    ConnectionTimeouts(Duration headerRead, Duration keepAlive) {
        this.headerRead = headerRead;
        this.keepAlive = keepAlive;
        // A tenth of the shorter timeout: a connection lives at most 10% past its deadline.
        Duration shortest = headerRead.isZero() ? keepAlive : keepAlive.isZero() ? headerRead
                : headerRead.compareTo(keepAlive) < 0 ? headerRead : keepAlive;
        long tickMillis = shortest.isZero() ? 1000 : Math.clamp(shortest.toMillis() / 10, 10, 1000);
        this.thread = Thread.ofPlatform().daemon().name("tandem-http-timeouts").start(() -> run(tickMillis));
    }

    Duration headerRead() {
        return headerRead;
    }

    Duration keepAlive() {
        return keepAlive;
    }

    void add(FramedHttp1.Connection c) {
        open.add(c);
    }

    void remove(FramedHttp1.Connection c) {
        open.remove(c);
    }

    private void run(long tickMillis) {
        while (!closed) {
            try {
                Thread.sleep(tickMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (FramedHttp1.Connection c : open) {
                try {
                    c.expireIfDue(now);
                } catch (RuntimeException e) {
                    // One connection's failure to close must not end the timeouts of all the others.
                    LOG.log(Level.FINE, "closing a timed-out connection failed", e);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
