package io.tandem.server.http;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No route answers more than --max-response-bytes: /embed_all, /embed and /tokenize are refused
 * with 413 before any inference when the answer they ask for would be larger (issue: a 32×512
 * /embed_all answered 95 MB; 100 /tokenize calls of 62 MB each took 3.6 GB).
 */
class ResponseLimitTest {

    private static final Path M3_TINY = Path.of("../models/src/test/resources/fixtures/m3-tiny").toAbsolutePath().normalize();
    private static TestServer server;

    @BeforeAll
    static void start() {
        // 32-dimensional tiny bge-m3: one ColBERT vector is 32 numbers, about 384 bytes of JSON.
        server = TestServer.start("--embed-model", M3_TINY.toString(), "--max-response-bytes", "4000");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void perTokenVectorsOverTheLimitAre413() {
        // Twelve tokens or more of 32 numbers: over 4,000 bytes.
        TestServer.Resp r = server.post("/embed_all", "{\"inputs\":\"a sentence that has quite a few tokens in it for sure\"}")
                .expect(413);
        assertTrue(r.body().matches("\\{\"error\":\"Input validation error: the answer would be about \\d+ bytes, more "
                + "than the 4000 bytes allowed \\(--max-response-bytes\\); send fewer or shorter inputs\",\"error_type\":"
                + "\"Validation\"}"), r.body());
        server.post("/embed_all", "{\"inputs\":\"short\"}").expect(200);
        // Ten dense vectors of 32 numbers: under; a hundred inputs would be refused the same way.
        server.post("/embed", "{\"inputs\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]}").expect(200);
    }

    @Test
    void tokenizeOverTheLimitIs413BeforeTokenizing() {
        server.post("/tokenize", "{\"inputs\":\"" + "word ".repeat(100) + "\"}").expect(413);
        server.post("/tokenize", "{\"inputs\":\"a few words\"}").expect(200);
    }
}
