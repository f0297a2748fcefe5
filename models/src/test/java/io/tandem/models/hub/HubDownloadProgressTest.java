package io.tandem.models.hub;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The progress lines' content; the two-second pacing is the same code with another interval. */
class HubDownloadProgressTest {

    @Test
    void linesSayPercentSizeAndSpeed() {
        List<String> lines = capture(() -> {
            DownloadProgress p = new DownloadProgress("BAAI/bge-m3 onnx/model.onnx_data", 2_270_000_000L,
                    1_000_000_000L, 0);
            p.advance(135_000_000L);
            p.finish();
        });
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).matches("BAAI/bge-m3 onnx/model.onnx_data: 50% \\(1\\.1 GB of 2\\.3 GB\\), [0-9.]+ MB/s"),
                lines.get(0));
        assertTrue(lines.get(1).matches("BAAI/bge-m3 onnx/model.onnx_data: done, 1\\.1 GB in [0-9.]+ s, [0-9.]+ MB/s"),
                lines.get(1));
    }

    @Test
    void quickDownloadsLogNothingMore() {
        List<String> lines = capture(() -> {
            DownloadProgress p = new DownloadProgress("small", 1000, 0);
            p.advance(1000);
            p.finish();
        });
        assertEquals(List.of(), lines);
    }

    @Test
    void sizesAreDecimal() {
        assertEquals("999 B", DownloadProgress.size(999));
        assertEquals("304.4 kB", DownloadProgress.size(304_389));
        assertEquals("2.3 GB", DownloadProgress.size(2_270_000_000L));
        assertEquals("size unknown", DownloadProgress.size(-1));
    }

    private static List<String> capture(Runnable run) {
        Logger logger = Logger.getLogger(DownloadProgress.class.getName());
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                lines.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
        try {
            run.run();
        } finally {
            logger.removeHandler(handler);
        }
        return lines;
    }
}
