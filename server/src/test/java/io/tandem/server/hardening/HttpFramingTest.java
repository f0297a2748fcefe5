package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request framing on the wire (issue 11, item 1 and 3): exact bytes in, every response read back,
 * and whether the server closed the socket. A request whose body breaks RFC 9112's chunked
 * framing gets one 400 with {@code Connection: close} and nothing after it is ever served.
 */
class HttpFramingTest {

    private static final String SMUGGLED = "GET /info HTTP/1.1\r\nHost: x\r\n\r\n";
    private static final String HEAD = "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n";

    private static Tandem tandem;

    @BeforeAll
    static void start() {
        tandem = Hardening.startTiny();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    /** What the server said to one burst of bytes: its responses in order, and whether it then closed. */
    record Exchange(List<Hardening.RawReply> replies, boolean closed) {
        Hardening.RawReply only() {
            assertEquals(1, replies.size(), "responses: " + statuses());
            return replies.getFirst();
        }

        List<Integer> statuses() {
            return replies.stream().map(Hardening.RawReply::status).toList();
        }
    }

    static Exchange exchange(String request) throws IOException {
        return exchange(request.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Writes the bytes at once, then reads responses until the server closes or is quiet for 1.5 s. */
    static Exchange exchange(byte[] request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", tandem.port()), 10_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return readAll(s);
        }
    }

    static Exchange readAll(Socket s) throws IOException {
        s.setSoTimeout(1_500);
        InputStream in = s.getInputStream();
        List<Hardening.RawReply> replies = new ArrayList<>();
        while (true) {
            Hardening.RawReply r;
            try {
                r = Hardening.readResponse(in);
            } catch (SocketTimeoutException e) {
                return new Exchange(replies, false);
            }
            if (r.status() == -1) {
                return new Exchange(replies, true);
            }
            replies.add(r);
        }
    }

    private static void assertRefusedAndClosed(String what, String request) throws IOException {
        Exchange x = exchange(request);
        Hardening.RawReply r = x.only();
        assertEquals(400, r.status(), what + ": " + r.text());
        assertEquals("close", r.headers().get("connection"), what + ": " + r.headers());
        assertTrue(r.text().contains("\"error_type\":\"Validation\""), what + ": " + r.text());
        assertTrue(x.closed(), what + ": the socket stayed open");
    }

    @Test
    void badChunkSizesEndTheConnectionAndNothingAfterIsServed() throws IOException {
        String body = "{\"inputs\":\"a\"}";
        assertRefusedAndClosed("zz", HEAD + "zz\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("-f", HEAD + "-f\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("18 hex digits", HEAD + "ffffffffffffffffff\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("over 2^31-1", HEAD + "80000000\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("size smaller than the data", HEAD + "5\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("100 KB extension", HEAD + "e;x=" + "a".repeat(100_000) + "\r\n" + body + "\r\n0\r\n\r\n"
                + SMUGGLED);
        assertRefusedAndClosed("bad extension", HEAD + "e;=1\r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("blank after size", HEAD + "e \r\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("bare LF", HEAD + "e\n" + body + "\r\n0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("bad trailer", HEAD + "e\r\n" + body + "\r\n0\r\nno colon here\r\n\r\n" + SMUGGLED);
    }

    @Test
    void chunkDataMustEndWithCrlf() throws IOException {
        // f = 15 bytes of data, then "XX" where CRLF must be.
        assertRefusedAndClosed("no CRLF after data", HEAD + "f\r\n{\"inputs\":\"ab\"}XX0\r\n\r\n" + SMUGGLED);
        assertRefusedAndClosed("LF only after data", HEAD + "f\r\n{\"inputs\":\"ab\"}\n0\r\n\r\n" + SMUGGLED);
    }

    @Test
    void aLegalExtensionIsReadAsFramingSaysAndItsDataStaysData() throws IOException {
        // RFC 9112 chunk extension; the chunk's data holds what looks like the body's end and a request.
        String data = "0\r\n\r\n" + SMUGGLED;
        assertEquals(0x24, data.length());
        Exchange x = exchange(HEAD + "24;x=1\r\n" + data + "\r\n0\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertEquals(List.of(400, 200), x.statuses(), "the /info inside the chunk must not be served");
        assertTrue(x.replies().get(0).text().startsWith("{\"error\":\"Failed to parse the request body as JSON: "),
                x.replies().get(0).text());
        // A body that is well framed but not JSON keeps the connection: the next request is answered.
        assertFalse("close".equals(x.replies().get(0).headers().get("connection")));
        assertTrue(x.closed(), "Connection: close on the last request");
    }

    @Test
    void extensionsAndTrailersAreAccepted() throws IOException {
        String body = "{\"inputs\":\"a\"}";
        Exchange x = exchange(HEAD + "7 ; name=value;quoted=\"a;b\\\"c\"\r\n" + body.substring(0, 7) + "\r\n"
                + "0007\r\n" + body.substring(7) + "\r\n0;last\r\nX-Checksum: 1234\r\nX-Other: a\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(List.of(200, 200), x.statuses());
        assertTrue(x.replies().get(0).text().startsWith("[["), x.replies().get(0).text());
        assertFalse(x.closed());
    }

    @Test
    void aChunkedBodyOverThePayloadLimitClosesTheConnection() throws IOException {
        String big = "f4240\r\n" + "a".repeat(1_000_000) + "\r\n";
        Exchange x = exchange(HEAD + big + big + big + "0\r\n\r\n" + SMUGGLED);
        Hardening.RawReply r = x.only();
        assertEquals(413, r.status(), r.text());
        assertEquals("close", r.headers().get("connection"));
        assertTrue(x.closed());
    }

    @Test
    void validPipelinedRequestsAreAllAnswered() throws IOException {
        Exchange x = exchange("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
                + "{\"inputs\":\"a\"}"
                + HEAD + "e\r\n{\"inputs\":\"a\"}\r\n0\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(List.of(200, 200, 200, 200), x.statuses());
        assertFalse(x.closed());
    }

    @Test
    void connectionCloseIsHonoured() throws IOException {
        Exchange x = exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + SMUGGLED);
        assertEquals("close", x.only().headers().get("connection"));
        assertTrue(x.closed(), "socket left open after Connection: close");
        // Also after a POST whose body was read.
        x = exchange("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n"
                + "Connection: close\r\n\r\n{\"inputs\":\"a\"}" + SMUGGLED);
        assertEquals(200, x.only().status());
        assertTrue(x.closed());
    }

    @Test
    void http10IsServedAndClosedUnlessKeptAlive() throws IOException {
        Exchange x = exchange("GET /health HTTP/1.0\r\n\r\n" + SMUGGLED);
        assertEquals(200, x.only().status());
        assertEquals("close", x.only().headers().get("connection"));
        assertTrue(x.closed());

        x = exchange("POST /embed HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
                + "{\"inputs\":\"a\"}");
        assertEquals(200, x.only().status(), x.only().text());
        assertTrue(x.only().text().startsWith("[["));
        assertTrue(x.closed());

        // ApacheBench -k and nginx with keepalive ask for it.
        x = exchange("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                + "GET /health HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assertEquals(List.of(200, 200), x.statuses());
        assertEquals("keep-alive", x.replies().get(0).headers().get("connection"));
        assertFalse(x.closed());

        // HTTP/1.0 has no chunked coding (RFC 9112 6.1).
        x = exchange("POST /embed HTTP/1.0\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "e\r\n{\"inputs\":\"a\"}\r\n0\r\n\r\n" + SMUGGLED);
        assertEquals(400, x.only().status());
        assertTrue(x.closed());
    }

    @Test
    void unknownMethodsAreRefusedWithoutA500() throws IOException {
        java.util.Map<String, Integer> expected = new java.util.LinkedHashMap<>();
        expected.put("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
        expected.put("CONNECT /embed HTTP/1.1\r\nHost: x\r\n\r\n", 501);
        expected.put("GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        expected.put("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
        expected.put("TRACE /embed HTTP/1.1\r\nHost: x\r\n\r\n", 405);
        expected.put("BREW /embed HTTP/1.1\r\nHost: x\r\n\r\n", 405);
        expected.put("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 404);
        for (var e : expected.entrySet()) {
            Exchange x = exchange(e.getKey() + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            String line = e.getKey().lines().findFirst().orElseThrow();
            assertEquals(List.of(e.getValue(), 200), x.statuses(), line + ": " + x.replies().getFirst().text());
            assertTrue(x.closed(), line);
        }
    }

    @Test
    void framingErrorsInTheHeadCloseToo() throws IOException {
        for (String request : List.of(
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nContent-Length: 15\r\n\r\n{\"inputs\":\"a\"}",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: +14\r\n\r\n{\"inputs\":\"a\"}",
                "POST /embed HTTP/1.1\r\nHost: x\r\n Folded: yes\r\nContent-Length: 14\r\n\r\n{\"inputs\":\"a\"}",
                "POST /embed HTTP/1.1\r\nHost: x\nContent-Length: 14\r\n\r\n{\"inputs\":\"a\"}")) {
            Exchange x = exchange(request + SMUGGLED);
            String what = request.replace("\r\n", "|");
            assertEquals(1, x.replies().size(), what + ": " + x.statuses());
            int status = x.replies().getFirst().status();
            assertTrue(status == 400 || status == 501, what + ": " + status);
            assertTrue(x.closed(), what);
        }
    }
}
