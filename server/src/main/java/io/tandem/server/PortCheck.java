package io.tandem.server;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Tries each listener's port before the models load. Helidon finds a busy port only once the
 * models are loaded (seconds to minutes later) and logs a long stack trace for it; this says
 * the same in one line, at once, with the flag that moves the port.
 */
final class PortCheck {

    private PortCheck() {
    }

    /**
     * @param flag the flag that sets this port ("--port", "--embed-port", "--rerank-port")
     * @throws IllegalStateException naming the port and the flag when it cannot be bound
     */
    static void requireFree(String host, Integer port, String flag) {
        if (port == null || port == 0) {
            return; // off, or any free port
        }
        try (ServerSocket probe = new ServerSocket()) {
            // As Helidon binds: a socket left in TIME_WAIT by a previous run does not count as busy.
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(host, port));
        } catch (BindException e) {
            String why = e.getMessage() == null ? "" : e.getMessage();
            throw new IllegalStateException(why.contains("in use")
                    ? "port " + port + " is already in use (" + host + ":" + port + "); stop what listens there or "
                    + "choose another port with " + flag
                    : "cannot listen on " + host + ":" + port + " (" + why + "); choose another port with " + flag);
        } catch (IOException | IllegalArgumentException | SecurityException e) {
            throw new IllegalStateException("cannot listen on " + host + ":" + port + " (" + e.getMessage()
                    + "); check --hostname, or choose another port with " + flag);
        }
    }
}
