package io.tandem.server;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One log line per record on stderr: plain text, or JSON lines with --json-output (as TEI). */
final class Logging {

    // Held here: the log manager keeps loggers only weakly, and a collected one loses its level.
    private static final Logger DJL_CUDA_PROBE = Logger.getLogger("ai.djl.util.cuda.CudaUtils");

    private Logging() {
    }

    static void configure(boolean json) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(Level.INFO);
        handler.setFormatter(json ? new JsonFormatter() : new PlainFormatter());
        root.addHandler(handler);
        // DJL's GPU probe runs when its tokenizer library loads and warns wherever a CUDA runtime
        // is installed without a working driver. Tandem uses DJL for the tokenizer only, which
        // runs on the CPU, so the probe's outcome never matters here; ONNX Runtime's own CUDA
        // check is the one that reports (SessionFactory, and /info). DJL's other messages pass.
        DJL_CUDA_PROBE.setLevel(Level.SEVERE);
    }

    private static final class PlainFormatter extends Formatter {
        @Override
        public String format(LogRecord r) {
            return Instant.ofEpochMilli(r.getMillis()) + " " + r.getLevel().getName() + " " + shortName(r.getLoggerName())
                    + ": " + formatMessage(r) + System.lineSeparator() + thrown(r);
        }
    }

    private static final class JsonFormatter extends Formatter {
        @Override
        public String format(LogRecord r) {
            return "{\"timestamp\":\"" + Instant.ofEpochMilli(r.getMillis()) + "\",\"level\":\"" + r.getLevel().getName()
                    + "\",\"target\":\"" + escape(shortName(r.getLoggerName())) + "\",\"fields\":{\"message\":\""
                    + escape(formatMessage(r)) + (r.getThrown() != null ? "\",\"error\":\"" + escape(thrown(r)) : "")
                    + "\"}}" + System.lineSeparator();
        }
    }

    /** The stack trace of a logged exception (clients only get a generic message: the log must have it). */
    private static String thrown(LogRecord r) {
        if (r.getThrown() == null) {
            return "";
        }
        java.io.StringWriter w = new java.io.StringWriter();
        r.getThrown().printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }

    private static String shortName(String logger) {
        return logger == null ? "" : logger.substring(logger.lastIndexOf('.') + 1);
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
