package io.tandem.server.bench;

import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
                try (Socket reused = open(port)) {
                    bytes = exchange(reused, request);
                    for (int i = 0; i < 30; i++) {
                        exchange(reused, request);
                        try (Socket s = open(port)) {
                            exchange(s, request);
                        }
                    }
                    for (int i = 0; i < rounds; i++) {
                        long t0 = System.nanoTime();
                        exchange(reused, request);
                        kept[i] = (System.nanoTime() - t0) / 1e6;
                        t0 = System.nanoTime();
                        try (Socket s = open(port)) {
                            exchange(s, request);
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
        byte[] body = ("{\"inputs\":[" + String.join(",", texts) + "]}").getBytes(StandardCharsets.UTF_8);
        String head = "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static Socket open(int port) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true); // as SDK clients do; the server's side is what is measured
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(60_000);
        return s;
    }

    /** One request, its whole response read; returns the response's size in bytes. */
    private static int exchange(Socket s, byte[] request) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(request);
        out.flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("closed inside a response head");
            }
            head.append((char) c);
        }
        if (!head.toString().startsWith("HTTP/1.1 200")) {
            throw new IOException("not a 200: " + head);
        }
        int length = -1;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        byte[] body = in.readNBytes(length);
        if (body.length != length) {
            throw new IOException("response cut");
        }
        return head.length() + length;
    }

    private static double pct(double[] values, int p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }
}
