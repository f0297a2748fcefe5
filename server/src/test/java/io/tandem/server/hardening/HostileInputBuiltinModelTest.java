package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The seeded hostile suite (another seed) against the default server: the built-in
 * bge-small-zh-v1.5 alone (a BERT WordPiece tokenizer instead of XLM-R's unigram; /rerank
 * answered by the embedder's cosine, /predict refused as TEI does).
 */
class HostileInputBuiltinModelTest {

    @Test
    void seededHostileRequestsAgainstTheBuiltinModel() throws Exception {
        try (Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
            "--hostname", "127.0.0.1"}, Map.of()))) {
            HttpClient client = Hardening.client();
            int port = tandem.port();
            float[] vector = Hardening.embed(client, port, "一个已知的输入");
            float[] scores = Hardening.rerank(client, port, "查询", List.of("一个已知的输入", "别的"));
            HostileInputTest.runSuite(client, port, 0xB6E5_3A11L, 250, "built-in bge-small-zh",
                    new String[] {"", "", "/models/embed"});
            assertEquals(200, Hardening.get(client, port, "/health").status());
            Hardening.assertSameVector(vector, Hardening.embed(client, port, "一个已知的输入"), "known /embed vector");
            Hardening.assertSameVector(scores, Hardening.rerank(client, port, "查询", List.of("一个已知的输入", "别的")),
                    "known bi-encoder /rerank scores");
        }
    }
}
