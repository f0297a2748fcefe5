package io.tandem.models.hub;

import java.util.Locale;
import java.util.logging.Logger;

/**
 * Log lines for one download: a line at most every two seconds while it runs (multi-gigabyte
 * ONNX weights take minutes, and a silent start looks like a hang), and one when it ends if it
 * took that long (small files get only the caller's "downloading" line).
 */
final class DownloadProgress {

    private static final Logger LOG = Logger.getLogger(DownloadProgress.class.getName());
    private static final long INTERVAL_NANOS = 2_000_000_000L;

    private final String label;
    private final long total;
    private final long resumedFrom;
    private final long interval;
    private final long start = System.nanoTime();
    private long done;
    private long lastLog = start;

    /**
     * @param total expected size in bytes, or -1 if the hub did not say
     * @param resumedFrom bytes already on disk from an earlier attempt
     */
    DownloadProgress(String label, long total, long resumedFrom) {
        this(label, total, resumedFrom, INTERVAL_NANOS);
    }

    /** With another interval between lines, for tests. */
    DownloadProgress(String label, long total, long resumedFrom, long intervalNanos) {
        this.interval = intervalNanos;
        this.label = label;
        this.total = total;
        this.resumedFrom = resumedFrom;
        this.done = resumedFrom;
    }

    void advance(long bytes) {
        done += bytes;
        long now = System.nanoTime();
        if (now - lastLog >= interval) {
            lastLog = now;
            LOG.info(label + ": " + (total > 0 ? String.format(Locale.ROOT, "%.0f%% (%s of %s)", 100.0 * done / total,
                    size(done), size(total)) : size(done)) + ", " + rate(now));
        }
    }

    void finish() {
        if (System.nanoTime() - start < interval) {
            return;
        }
        LOG.info(label + ": done, " + size(done) + " in "
                + String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - start) / 1e9) + ", " + rate(System.nanoTime()));
    }

    /** Speed of this attempt only: bytes resumed from disk were not transferred now. */
    private String rate(long now) {
        double seconds = Math.max((now - start) / 1e9, 1e-3);
        return String.format(Locale.ROOT, "%.1f MB/s", (done - resumedFrom) / 1e6 / seconds);
    }

    /** Decimal units, as the hub's web pages show file sizes. */
    static String size(long bytes) {
        if (bytes < 0) {
            return "size unknown";
        }
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
