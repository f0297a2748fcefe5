package io.tandem.server;

import io.tandem.server.config.FlagException;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;

import java.util.logging.Logger;

/** The command line: flags and environment in, a running server out, stopped on SIGTERM. */
public final class Main {

    private Main() {
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
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(() -> {
            log.info("shutting down: finishing in-flight requests (grace " + config.shutdownGracePeriod() + ")");
            tandem.close();
            log.info("stopped");
        }));
    }
}
