package io.tandem.server.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where each HTTP/1 request of a connection begins and ends, found by RFC 9112's rules before
 * Helidon sees the bytes; Helidon then only ever reads the canonical form this hands on.
 *
 * <p>Helidon 4.5's own chunked reader skips the two bytes after chunk data without looking at
 * them, cannot parse chunk extensions and reads a chunk-size line without a length limit; and
 * an error there leaves the rest of the body to be read as the next request. Here instead:
 * chunk-size lines are checked (hex size up to 2^31-1, extensions by their grammar, at most
 * {@link #MAX_CHUNK_LINE} bytes) and handed on without extensions; chunk data must be followed
 * by CRLF; trailer fields are checked and dropped (RFC 9112 7.1.2 allows it). An HTTP/1.0
 * request is handed on as the HTTP/1.1 request that means the same (Helidon refuses 1.0):
 * {@code Connection: close} unless it asked for keep-alive, and a Host if it had none.
 *
 * <p>At the first byte that breaks the framing nothing more is handed on: {@link #violation()}
 * says why, and the connection must end after its answer, because from there on no one knows
 * where requests begin. Content-Length bodies are passed on as they are; a head whose framing
 * is not exactly one Content-Length or {@code Transfer-Encoding: chunked} is handed on whole
 * (Helidon answers it and closes) and nothing after it.
 */
final class Http1Framing {

    static final int MAX_CHUNK_LINE = 4096;

    /** Why the bytes stopped: an HTTP status for the answer and a short reason. */
    record Violation(int status, String reason) {
    }

    private enum State { REQUEST_LINE, HEADER, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CR, CHUNK_LF, TRAILER, STOPPED }

    private static final byte[] CRLF = {'\r', '\n'};

    private final int maxRequestLine;
    private final int maxHeadSize;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private State state = State.REQUEST_LINE;
    /** Bytes of the current header or trailer section so far. */
    private int sectionSize;
    /** Body or chunk bytes still to pass on. */
    private long remaining;
    private boolean http10;
    private boolean host;
    private boolean keepAlive;
    private boolean close;
    private final List<String> contentLengths = new ArrayList<>();
    private final List<String> transferEncodings = new ArrayList<>();
    private Violation violation;

    /**
     * @param maxRequestLine longest request line (Helidon's max prologue length); longer: 414
     * @param maxHeadSize largest header section, and trailer section (Helidon's max headers size); larger: 431
     */
    Http1Framing(int maxRequestLine, int maxHeadSize) {
        this.maxRequestLine = maxRequestLine;
        this.maxHeadSize = maxHeadSize;
    }

    /** Nothing of a next request seen yet: the connection is idle between requests. */
    boolean betweenRequests() {
        return state == State.REQUEST_LINE && line.size() == 0;
    }

    /** Inside a request's head (request line or header fields). */
    boolean inHead() {
        return state == State.REQUEST_LINE || state == State.HEADER;
    }

    /** Non-null once the bytes broke the framing; nothing after that point was handed on. */
    Violation violation() {
        return violation;
    }

    boolean stopped() {
        return state == State.STOPPED;
    }

    /** The canonical bytes for Helidon of what arrived; stops at a violation. */
    byte[] accept(byte[] in, int length) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 64);
        int i = 0;
        while (i < length && state != State.STOPPED) {
            switch (state) {
                case BODY, CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, length - i);
                    out.write(in, i, n);
                    i += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = state == State.BODY ? State.REQUEST_LINE : State.CHUNK_CR;
                    }
                }
                case CHUNK_CR, CHUNK_LF -> {
                    byte expected = state == State.CHUNK_CR ? (byte) '\r' : (byte) '\n';
                    if (in[i++] != expected) {
                        stop(400, "chunk data not followed by CRLF");
                    } else if (state == State.CHUNK_CR) {
                        state = State.CHUNK_LF;
                    } else {
                        out.writeBytes(CRLF);
                        state = State.CHUNK_SIZE;
                    }
                }
                default -> i = readLine(in, i, length, out);
            }
        }
        return out.toByteArray();
    }

    /** Collects a line up to its LF; handles it when complete. Returns the next index. */
    private int readLine(byte[] in, int from, int length, ByteArrayOutputStream out) {
        int i = from;
        while (i < length && in[i] != '\n') {
            i++;
        }
        line.write(in, from, i - from);
        int limit = switch (state) {
            case REQUEST_LINE -> maxRequestLine;
            case HEADER, TRAILER -> maxHeadSize - sectionSize;
            default -> MAX_CHUNK_LINE;
        };
        if (line.size() > limit + 1) {
            switch (state) {
                case REQUEST_LINE -> stop(414, "request line too long");
                case HEADER -> stop(431, "header section too large");
                case TRAILER -> stop(400, "trailer section too large");
                default -> stop(400, "chunk-size line too long");
            }
            return length;
        }
        if (i == length) {
            return length;
        }
        byte[] bytes = line.toByteArray();
        line.reset();
        if (bytes.length == 0 || bytes[bytes.length - 1] != '\r') {
            stop(400, "line not ended by CRLF");
            return length;
        }
        String text = new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
        if (text.indexOf('\r') >= 0) {
            stop(400, "CR inside a line");
            return length;
        }
        sectionSize += bytes.length + 1;
        switch (state) {
            case REQUEST_LINE -> requestLine(text, out);
            case HEADER -> headerLine(text, out);
            case CHUNK_SIZE -> chunkSize(text, out);
            default -> trailerLine(text, out);
        }
        return i + 1;
    }

    private void requestLine(String text, ByteArrayOutputStream out) {
        if (text.isEmpty()) {
            // RFC 9112 2.2: empty lines before a request line are ignored.
            sectionSize = 0;
            return;
        }
        http10 = false;
        host = false;
        keepAlive = false;
        close = false;
        contentLengths.clear();
        transferEncodings.clear();
        state = State.HEADER;
        sectionSize = 0;
        int last = text.lastIndexOf(' ');
        String version = last < 0 ? "" : text.substring(last + 1);
        if (version.equals("HTTP/1.0")) {
            http10 = true;
            write(out, text.substring(0, last + 1) + "HTTP/1.1");
        } else if (version.equals("HTTP/1.1")) {
            write(out, text);
        } else {
            // Helidon answers a line it cannot read (400, 505) and closes; nothing after it is its business.
            write(out, text);
            stop(400, "not an HTTP/1.x request line");
        }
    }

    private void headerLine(String text, ByteArrayOutputStream out) {
        if (text.isEmpty()) {
            endOfHead(out);
            return;
        }
        int colon = text.indexOf(':');
        if (text.charAt(0) == ' ' || text.charAt(0) == '\t' || colon <= 0 || !isToken(text, 0, colon)) {
            // obs-fold, or no field name: RFC 9112 5 lets a server refuse both with 400.
            stop(400, "malformed header field");
            return;
        }
        String name = text.substring(0, colon).toLowerCase(Locale.ROOT);
        String value = text.substring(colon + 1).strip();
        switch (name) {
            case "content-length" -> contentLengths.add(value);
            case "transfer-encoding" -> transferEncodings.add(value);
            case "host" -> host = true;
            case "connection" -> {
                for (String token : value.split(",")) {
                    String t = token.strip().toLowerCase(Locale.ROOT);
                    close |= t.equals("close");
                    keepAlive |= t.equals("keep-alive");
                }
            }
            default -> {
            }
        }
        write(out, text);
    }

    private void endOfHead(ByteArrayOutputStream out) {
        if (http10) {
            if (!host) {
                write(out, "Host: localhost");
            }
            if (!keepAlive && !close) {
                write(out, "Connection: close");
            }
        }
        out.writeBytes(CRLF);
        sectionSize = 0;
        if (!transferEncodings.isEmpty()) {
            if (transferEncodings.size() == 1 && transferEncodings.getFirst().equalsIgnoreCase("chunked")
                    && contentLengths.isEmpty() && !http10) {
                state = State.CHUNK_SIZE;
            } else {
                // Helidon refuses most of these itself (400, 501); HTTP/1.0 has no chunked coding (RFC 9112 6.1).
                stop(400, "unsupported request framing");
            }
        } else if (!contentLengths.isEmpty()) {
            String cl = contentLengths.getFirst();
            if (contentLengths.size() != 1 || cl.isEmpty() || cl.length() > 18 || !cl.chars().allMatch(Http1Framing::isDigit)) {
                stop(400, "invalid Content-Length");
            } else {
                remaining = Long.parseLong(cl);
                state = remaining == 0 ? State.REQUEST_LINE : State.BODY;
            }
        } else {
            state = State.REQUEST_LINE;
        }
    }

    /** chunk-size [ chunk-ext ], RFC 9112 7.1; handed on as the bare size. */
    private void chunkSize(String text, ByteArrayOutputStream out) {
        int p = 0;
        while (p < text.length() && Character.digit(text.charAt(p), 16) >= 0 && text.charAt(p) < 128) {
            p++;
        }
        String digits = text.substring(0, p).replaceFirst("^0+(?=.)", "");
        if (p == 0 || digits.length() > 8 || Long.parseLong(digits, 16) > Integer.MAX_VALUE || !extensions(text, p)) {
            stop(400, "invalid chunk-size line");
            return;
        }
        long size = Long.parseLong(digits, 16);
        if (size == 0) {
            state = State.TRAILER;
            sectionSize = 0;
            return;
        }
        write(out, Long.toHexString(size));
        remaining = size;
        state = State.CHUNK_DATA;
    }

    /** *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) to the end of the line. */
    private static boolean extensions(String s, int from) {
        int p = from;
        while (true) {
            int q = skipBlanks(s, p);
            if (q == s.length()) {
                return q == p; // no trailing blanks
            }
            if (s.charAt(q) != ';') {
                return false;
            }
            p = skipBlanks(s, q + 1);
            int nameEnd = tokenEnd(s, p);
            if (nameEnd == p) {
                return false;
            }
            p = nameEnd;
            q = skipBlanks(s, p);
            if (q < s.length() && s.charAt(q) == '=') {
                p = skipBlanks(s, q + 1);
                int valueEnd = p < s.length() && s.charAt(p) == '"' ? quotedEnd(s, p) : tokenEnd(s, p);
                if (valueEnd <= p) {
                    return false;
                }
                p = valueEnd;
            }
        }
    }

    private void trailerLine(String text, ByteArrayOutputStream out) {
        if (text.isEmpty()) {
            write(out, "0");
            out.writeBytes(CRLF);
            state = State.REQUEST_LINE;
            sectionSize = 0;
            return;
        }
        int colon = text.indexOf(':');
        if (colon <= 0 || !isToken(text, 0, colon)) {
            stop(400, "malformed trailer field");
        }
        // A valid trailer field is dropped: nothing here reads trailers.
    }

    private void stop(int status, String reason) {
        violation = new Violation(status, reason);
        state = State.STOPPED;
    }

    private static void write(ByteArrayOutputStream out, String line) {
        out.writeBytes(line.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(CRLF);
    }

    private static int skipBlanks(String s, int p) {
        while (p < s.length() && (s.charAt(p) == ' ' || s.charAt(p) == '\t')) {
            p++;
        }
        return p;
    }

    private static int tokenEnd(String s, int p) {
        while (p < s.length() && isTchar(s.charAt(p))) {
            p++;
        }
        return p;
    }

    /** The index after a quoted-string starting at {@code p}, or -1. */
    private static int quotedEnd(String s, int p) {
        for (int i = p + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                return i + 1;
            }
            if (c == '\\') {
                i++;
                if (i == s.length() || s.charAt(i) < 0x20 && s.charAt(i) != '\t' || s.charAt(i) == 0x7F) {
                    return -1;
                }
            } else if (c < 0x20 && c != '\t' || c == 0x7F) {
                return -1;
            }
        }
        return -1;
    }

    private static boolean isToken(String s, int from, int to) {
        return tokenEnd(s, from) >= to;
    }

    private static boolean isTchar(char c) {
        return c < 128 && (Character.isLetterOrDigit(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0);
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }
}
