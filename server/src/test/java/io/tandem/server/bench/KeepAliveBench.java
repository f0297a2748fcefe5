package io.tandem.server.bench;

import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * /embed latency on one keep-alive connection against a fresh connection per request (issue 11,
 * item 2: a response of more than a few KB used to wait ~40 ms for the client's delayed ACK on
 * a reused connection). Built-in bge-small-zh-v1.5 on CPU, raw sockets, one request at a time,
 * the two kinds interleaved so that both see the same machine. Run with server/bench/keep-alive.sh.
 */
public final class KeepAliveBench {

    private static final int[] SIZES = {1, 4, 16, 64};

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
            "--hostname", "127.0.0.1", "--max-client-batch-size", "64"}, Map.of()));
        try {
            int port = tandem.port();
            System.out.printf("%nbge-small-zh-v1.5, CPU, %d cores, %d requests per cell (after 30 warm-up)%n",
                    Runtime.getRuntime().availableProcessors(), rounds);
            System.out.println("| inputs | response bytes | keep-alive p50 ms | fresh p50 ms | keep-alive p99 ms"
                    + " | fresh p99 ms | p50 difference ms |");
            System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
            for (int n : SIZES) {
                byte[] request = request(n);
                double[] kept = new double[rounds];
                double[] fresh = new double[rounds];
                int bytes;
                try (Socket reused = RawHttp.open(port)) {
                    bytes = RawHttp.exchange(reused, request);
                    for (int i = 0; i < 30; i++) {
                        RawHttp.exchange(reused, request);
                        try (Socket s = RawHttp.open(port)) {
                            RawHttp.exchange(s, request);
                        }
                    }
                    for (int i = 0; i < rounds; i++) {
                        long t0 = System.nanoTime();
                        RawHttp.exchange(reused, request);
                        kept[i] = (System.nanoTime() - t0) / 1e6;
                        t0 = System.nanoTime();
                        try (Socket s = RawHttp.open(port)) {
                            RawHttp.exchange(s, request);
                        }
                        fresh[i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                System.out.printf(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2f | %.2f | %+.2f |%n", n, bytes,
                        pct(kept, 50), pct(fresh, 50), pct(kept, 99), pct(fresh, 99), pct(kept, 50) - pct(fresh, 50));
            }
        } finally {
            tandem.close();
        }
    }

    private static byte[] request(int n) {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            texts.add("\"今天天气很好，我们去公园散步吧 " + i + "\"");
        }
        return RawHttp.post("/embed", "{\"inputs\":[" + String.join(",", texts) + "]}");
    }

    private static double pct(double[] values, int p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }
}
