package io.tandem.models.pipeline;

import java.util.Locale;

/**
 * How long each step of {@link Model#load} took. Loading bge-m3 on a CPU takes many seconds;
 * the start-up log names each step so that a slow one can be told apart from a hung one.
 */
public record LoadTimes(long tokenizerNanos, long sessionNanos, long warmUpNanos) {

    public long totalNanos() {
        return tokenizerNanos + sessionNanos + warmUpNanos;
    }

    /** "tokenizer 0.2 s, session 3.1 s (cpu), warm-up 0.4 s". */
    public String describe(String device) {
        return "tokenizer " + seconds(tokenizerNanos) + ", session " + seconds(sessionNanos) + " (" + device
                + "), warm-up " + seconds(warmUpNanos);
    }

    public static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
