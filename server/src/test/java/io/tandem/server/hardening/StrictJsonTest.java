package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, items 9 and 8: request bodies are read as strictly as TEI's serde_json reads them,
 * with TEI's 400 body; error messages quote at most a short prefix of what the client sent.
 */
class StrictJsonTest {

    private static final String PREFIX = "{\"error\":\"Failed to parse the request body as JSON: ";

    private static Tandem tandem;
    private static HttpClient client;

    @BeforeAll
    static void start() {
        tandem = Hardening.startTiny();
        client = Hardening.client();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    private static Hardening.Reply embed(byte[] body) throws Exception {
        return Hardening.post(client, tandem.port(), "/embed", "application/json", body);
    }

    private static void assertRefused(String what, byte[] body, String detail) throws Exception {
        Hardening.Reply r = embed(body);
        assertEquals(400, r.status(), what + ": " + r.text());
        assertTrue(r.text().startsWith(PREFIX), what + ": " + r.text());
        assertTrue(r.text().endsWith("\",\"error_type\":\"Validation\"}"), what + ": " + r.text());
        if (detail != null) {
            assertEquals(PREFIX + detail + "\",\"error_type\":\"Validation\"}", r.text(), what);
        }
    }

    private static byte[] bytes(String prefix, int[] raw, String suffix) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(prefix.getBytes(StandardCharsets.UTF_8));
        for (int x : raw) {
            b.write(x);
        }
        b.writeBytes(suffix.getBytes(StandardCharsets.UTF_8));
        return b.toByteArray();
    }

    @Test
    void invalidUtf8IsRefused() throws Exception {
        assertRefused("overlong /", bytes("{\"inputs\":\"a", new int[] {0xC0, 0xAF}, "\"}"), "invalid UTF-8 at byte 12");
        assertRefused("overlong 3 bytes", bytes("{\"inputs\":\"a", new int[] {0xE0, 0x80, 0xAF}, "\"}"),
                "invalid UTF-8 at byte 12");
        assertRefused("encoded surrogate", bytes("{\"inputs\":\"", new int[] {0xED, 0xA0, 0x80}, "\"}"),
                "invalid UTF-8 at byte 11");
        assertRefused("Latin-1", bytes("{\"inputs\":\"caf", new int[] {0xE9}, "\"}"), "invalid UTF-8 at byte 14");
        assertRefused("cut sequence", bytes("{\"inputs\":\"", new int[] {0xE2, 0x82}, "\"}"), null);
        // Well-formed UTF-8 of every length is fine.
        assertEquals(200, embed("{\"inputs\":\"é € 𝄞\"}".getBytes(StandardCharsets.UTF_8)).status());
    }

    @Test
    void onlyOneDocumentAndWhitespaceAfterIt() throws Exception {
        assertRefused("garbage", utf8("{\"inputs\":\"a\"} x"), "trailing characters at line 1 column 16");
        assertRefused("second document", utf8("{\"inputs\":\"a\"}{\"inputs\":\"b\"}"),
                "trailing characters at line 1 column 15");
        assertRefused("stray bracket", utf8("{\"inputs\":\"a\"}\n]"), "trailing characters at line 2 column 1");
        assertRefused("NUL after", utf8("{\"inputs\":\"a\"}\u0000"), null);
        assertEquals(200, embed(utf8("{\"inputs\":\"a\"} \r\n\t ")).status(), "JSON whitespace after is fine");
        assertRefused("empty", new byte[0], "EOF while parsing a value");
    }

    @Test
    void onlyUtf8WithoutAByteOrderMark() throws Exception {
        String doc = "{\"inputs\":\"a\"}";
        assertRefused("BOM", bytes("", new int[] {0xEF, 0xBB, 0xBF}, doc), "expected value at line 1 column 1");
        for (String cs : new String[] {"UTF-16LE", "UTF-16BE", "UTF-16", "UTF-32LE", "UTF-32BE"}) {
            assertRefused(cs, doc.getBytes(Charset.forName(cs)), null);
        }
    }

    @Test
    void aDuplicateKeyTakesTheLastValueAsSerdeDoes() throws Exception {
        Hardening.Reply dup = embed(utf8("{\"inputs\":\"first\",\"inputs\":\"second\"}"));
        assertEquals(200, dup.status(), dup.text());
        assertEquals(Hardening.postJson(client, tandem.port(), "/embed", java.util.Map.of("inputs", "second")).text(),
                dup.text());
    }

    @Test
    void errorsQuoteAShortPrefixOnly() throws Exception {
        String huge = "x".repeat(1_500_000);
        Hardening.Reply r = embed(utf8("{\"inputs\":\"a\",\"truncation_direction\":\"" + huge + "\"}"));
        assertEquals(422, r.status());
        assertTrue(r.body().length < 400, r.body().length + " bytes: " + Hardening.abbreviate(r.text()));
        assertTrue(r.text().contains("`" + "x".repeat(64) + "…`"), r.text());

        for (String body : new String[] {
                "{\"inputs\":" + "9".repeat(100_000) + "}",
                "{\"inputs\":\"a\",\"encoding_format\":\"" + huge + "\"}",
                "{\"query\":\"" + huge + "\"",
                "{\"inputs\":" + "t".repeat(100_000) + "}",
                "{\"inputs\":[\"a\", " + "1".repeat(50_000) + ".5]}",
                "{\"inputs\":\"a\",\"normalize\":\"" + huge + "\"}"}) {
            for (String route : new String[] {"/embed", "/v1/embeddings", "/rerank"}) {
                Hardening.Reply e = Hardening.post(client, tandem.port(), route, "application/json", utf8(body));
                if (e.status() == 200) {
                    continue; // a field this route does not read
                }
                assertTrue(e.status() == 400 || e.status() == 422, route + ": " + e.status());
                assertTrue(e.body().length < 400, route + " " + Hardening.abbreviate(body) + ": " + e.body().length
                        + " bytes: " + Hardening.abbreviate(e.text()));
            }
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
