package io.tandem.server.hardening;

import io.tandem.server.Tandem;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 11, item 10: public /metrics names models, never their folders' paths, even with --api-key. */
class MetricsLabelsTest {

    @Test
    void foldersAreLabelledByTheirNameAndServedNamesAsGiven() throws Exception {
        try (Tandem tandem = Hardening.startTiny("--api-key", "secret", "--rerank-served-model-name", "my-reranker")) {
            HttpClient client = Hardening.client();
            Hardening.Reply r = Hardening.get(client, tandem.port(), "/metrics");
            assertEquals(200, r.status(), "metrics stay public");
            String text = r.text();
            assertFalse(text.contains(Hardening.FIXTURES.toString()), "a path in /metrics");
            Matcher m = Pattern.compile("model=\"([^\"]*)\"").matcher(text);
            java.util.Set<String> labels = new java.util.TreeSet<>();
            while (m.find()) {
                labels.add(m.group(1));
            }
            assertEquals(java.util.Set.of("m3-tiny", "my-reranker"), labels, text);
            assertTrue(text.contains("te_request_count{model=\"m3-tiny\",method=\"single\"}"));
        }
    }
}
