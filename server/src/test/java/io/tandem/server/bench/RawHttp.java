package io.tandem.server.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A bare HTTP/1.1 client on one socket, for latencies that are the server's: the JDK's
 * HttpClient adds ~2 ms to every request on its own (2026-12-02, 2 cores: /tokenize of one
 * query 2.72 ms through it, 0.66 ms through this).
 */
final class RawHttp {

    private RawHttp() {
    }

    static Socket open(int port) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true); // as SDK clients do; the server's side is what is measured
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(60_000);
        return s;
    }

    /** A POST of a JSON body, as bytes ready to send. */
    static byte[] post(String path, String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return out.toByteArray();
    }

    /**
     * One request, its whole response read; returns the response's size in bytes. The response
     * is read in blocks (reading its head a byte at a time cost a system call per byte, ~0.5 ms
     * of the client's per request); nothing follows a response on the connection, so nothing
     * read here belongs to the next.
     */
    static int exchange(Socket s, byte[] request) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(request);
        out.flush();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[16384];
        int n = 0;
        int headEnd;
        while ((headEnd = headEnd(buf, n)) < 0) {
            if (n == buf.length) {
                buf = java.util.Arrays.copyOf(buf, buf.length * 2);
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                throw new IOException("closed inside a response head");
            }
            n += r;
        }
        String head = new String(buf, 0, headEnd, StandardCharsets.ISO_8859_1);
        if (!head.startsWith("HTTP/1.1 200")) {
            throw new IOException("not a 200: " + head);
        }
        int length = -1;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        int bodyRead = n - headEnd;
        if (length < 0 || bodyRead > length) {
            throw new IOException("no content-length, or more bytes than it says");
        }
        if (in.readNBytes(length - bodyRead).length != length - bodyRead) {
            throw new IOException("response cut");
        }
        return headEnd + length;
    }

    /** Where the body starts (after CRLF CRLF), or -1. */
    private static int headEnd(byte[] buf, int n) {
        for (int i = 3; i < n; i++) {
            if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }
}
