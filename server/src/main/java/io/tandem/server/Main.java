package io.tandem.server;

import io.tandem.server.config.FlagException;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;

import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/** The command line: flags and environment in, a running server out, stopped on SIGTERM. */
public final class Main {

    private Main() {
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) {
        if (Flags.wantsHelp(args)) {
            System.out.println(Flags.help());
            return;
        }
        ServerConfig config;
        try {
            config = Flags.parse(args, System.getenv());
        } catch (FlagException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("Run with --help for the list of flags.");
            System.exit(2);
            return;
        }
        Logging.configure(config.jsonOutput());
        Logger log = Logger.getLogger(Main.class.getName());
        config.warnings().forEach(log::warning);
        Tandem tandem;
        try {
            tandem = Tandem.start(config);
        } catch (RuntimeException e) {
            log.severe("cannot start: " + e.getMessage());
            System.exit(1);
            return;
        }
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                awaitUninterruptibly(stopped); // another thread is stopping: exit only once it is done
                return;
            }
            try {
                log.info("shutting down: finishing in-flight requests (grace " + config.shutdownGracePeriod() + ")");
                tandem.close();
                log.info("stopped");
            } finally {
                stopped.countDown();
            }
        };
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(stop));
        // SIGTERM/SIGINT: stop gracefully, then exit 0 as TEI does (left to the JVM, a signal exits
        // 128+n even when the shutdown hook finished cleanly). The stop runs on a non-daemon thread:
        // once the listeners close, no other non-daemon thread is left, and the JVM would exit under it.
        // A second signal stops at once.
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> {
                    if (stopping.get()) {
                        Runtime.getRuntime().halt(128 + signal.getNumber());
                    }
                    Thread.ofPlatform().name("stop").daemon(false).start(() -> {
                        stop.run();
                        System.exit(0);
                    });
                });
            } catch (IllegalArgumentException e) {
                // Signal not available here (e.g. -Xrs): the shutdown hook still stops gracefully.
            }
        }
    }
}
