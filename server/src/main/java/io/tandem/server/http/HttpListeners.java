package io.tandem.server.http;

import io.helidon.webserver.ListenerConfig;

import java.time.Duration;

/**
 * What every listener (the main port and each model's port) gets beyond its routes: HTTP/1
 * behind {@link Http1Framing}, the connection timeouts, a cap on open connections and TCP_NODELAY.
 */
public final class HttpListeners implements AutoCloseable {

    private final ConnectionTimeouts timeouts;
    private final int maxConnections;

    /**
     * @param headerReadTimeout longest a request head may take from its first byte (and a body may stall); zero: none
     * @param keepAliveTimeout longest an open connection may wait for its next request; zero: none
     * @param maxConnections open connections per listener; more wait in the accept queue until one closes
     */
    public HttpListeners(Duration headerReadTimeout, Duration keepAliveTimeout, int maxConnections) {
        this.timeouts = new ConnectionTimeouts(headerReadTimeout, keepAliveTimeout);
        this.maxConnections = maxConnections;
    }

    public <B extends ListenerConfig.BuilderBase<B, ?>> B apply(B listener) {
        return listener
                // Ours is the only protocol: one selector means Helidon hands each connection to it at once,
                // without first waiting (with no timeout) for bytes to choose between protocols.
                .protocolsDiscoverServices(false)
                .addConnectionSelector(new FramedHttp1.Selector(timeouts))
                .maxTcpConnections(maxConnections)
                // An answer written in more than one segment otherwise waits for the client's delayed
                // ACK (Nagle): 40 ms on every keep-alive request whose answer is over a few KB.
                .connectionOptions(o -> o.tcpNoDelay(true));
    }

    @Override
    public void close() {
        timeouts.close();
    }
}
