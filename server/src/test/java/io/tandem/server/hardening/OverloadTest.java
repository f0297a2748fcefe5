package io.tandem.server.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.server.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Overload: --max-concurrent-requests is TEI's permit rule, one permit per input: a single input
 * takes its permit at once or gets 429; a batch's inputs wait for theirs in order, in waves, so a
 * batch larger than the permits still runs. A bounded storm of 64 virtual-thread clients on
 * /embed and /rerank gets only 200s and 429s, and the server computes the same vector afterwards.
 */
class OverloadTest {

    private static final int PERMITS = 4;
    private static final int CLIENTS = 64;
    private static final long STORM_MILLIS = 12_000;
    private static final int MAX_REQUESTS_PER_CLIENT = 400;

    private static Tandem tandem;
    private static HttpClient client;
    private static int port;

    @BeforeAll
    static void start() {
        tandem = Hardening.startTiny("--max-concurrent-requests", Integer.toString(PERMITS));
        port = tandem.port();
        client = Hardening.client();
    }

    @AfterAll
    static void stop() {
        if (tandem != null) {
            tandem.close();
        }
    }

    private static List<String> texts(int n, String prefix) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prefix + " text number " + i);
        }
        return out;
    }

    /** A batch needing more permits than exist runs in waves, with the same numbers as one by one. */
    @Test
    void moreInputsThanPermitsRunInWaves() throws Exception {
        List<String> texts = texts(PERMITS * 3, "e");
        Hardening.Reply embed = Hardening.postJson(client, port, "/embed", Map.of("inputs", texts));
        assertEquals(200, embed.status(), embed.text());
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = Hardening.embed(client, port, texts.get(i));
            float[] inBatch = new float[alone.length];
            for (int d = 0; d < alone.length; d++) {
                inBatch[d] = embed.json().get(i).get(d).floatValue();
            }
            Hardening.assertSameVector(alone, inBatch, "input " + i + " of a batch three times the permits");
        }
        assertEquals(200, Hardening.postJson(client, port, "/rerank",
                Map.of("query", "q", "texts", texts(PERMITS * 2, "r"))).status());
        assertEquals(200, Hardening.postJson(client, port, "/predict",
                Map.of("inputs", Collections.nCopies(PERMITS + 1, List.of("q", "d")))).status());
        assertEquals(200, Hardening.postJson(client, port, "/similarity",
                Map.of("inputs", Map.of("source_sentence", "s", "sentences", texts(PERMITS, "s")))).status());
        assertEquals(200, Hardening.postJson(client, port, "/v1/embeddings",
                Map.of("input", texts(PERMITS + 1, "o"))).status());
        // A request that fails after taking its permits gives them back: all of them are free again.
        assertEquals(400, Hardening.postJson(client, port, "/embed", Map.of("inputs", List.of("a", "", "c", "d"))).status());
        assertEquals(200, Hardening.postJson(client, port, "/embed", Map.of("inputs", texts(PERMITS, "again"))).status());
    }

    private static void assertOverloaded(Hardening.Reply r, boolean openAi) {
        assertEquals(429, r.status(), r.text());
        Hardening.assertTeiError(r, openAi, "429");
        JsonNode body = r.json();
        assertEquals("Model is overloaded", openAi ? body.get("message").asText() : body.get("error").asText());
        assertEquals("Overloaded", openAi ? body.get("type").asText() : body.get("error_type").asText());
    }

    @Test
    void aStormGetsOnly200And429AndTheServerIsUnchangedAfter() throws Exception {
        float[] before = Hardening.embed(client, port, "the known input");
        float[] scores = Hardening.rerank(client, port, "q", List.of("the known input", "another"));
        Map<Integer, AtomicInteger> byStatus = new ConcurrentHashMap<>();
        List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STORM_MILLIS);
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                Random random = new Random(1000 + c);
                running.add(clients.submit(() -> {
                    for (int i = 0; i < MAX_REQUESTS_PER_CLIENT && System.nanoTime() < deadline; i++) {
                        int n = 1 + random.nextInt(3);
                        boolean embed = random.nextBoolean();
                        // A single input (a string) is refused at once when no permit is free; batches wait.
                        Object inputs = n == 1 ? "storm " + i : texts(n, "storm " + i);
                        Hardening.Reply r;
                        try {
                            r = embed
                                    ? Hardening.postJson(client, port, "/embed", Map.of("inputs", inputs))
                                    : Hardening.postJson(client, port, "/rerank",
                                    Map.of("query", "storm", "texts", texts(n, "doc " + i)));
                        } catch (Exception e) {
                            unexpected.add("client error: " + e);
                            continue;
                        }
                        byStatus.computeIfAbsent(r.status(), s -> new AtomicInteger()).incrementAndGet();
                        if (r.status() == 429) {
                            try {
                                Hardening.assertTeiError(r, false, "429");
                            } catch (AssertionError e) {
                                unexpected.add(e.getMessage());
                            }
                        } else if (r.status() != 200) {
                            unexpected.add(r.status() + " " + Hardening.abbreviate(r.text()));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get(STORM_MILLIS + 60_000, TimeUnit.MILLISECONDS);
            }
        }
        Map<Integer, Integer> counts = new TreeMap<>();
        byStatus.forEach((s, n) -> counts.put(s, n.get()));
        System.out.println("overload storm, " + CLIENTS + " clients, " + PERMITS + " permits, " + STORM_MILLIS
                + " ms: " + counts);
        assertTrue(unexpected.isEmpty(), unexpected.size() + " unexpected: " + unexpected.subList(0, Math.min(10, unexpected.size())));
        assertEquals(set200And429(), counts.keySet(), "only 200 and 429, both: " + counts);

        Hardening.assertSameVector(before, Hardening.embed(client, port, "the known input"), "after the storm");
        Hardening.assertSameVector(scores, Hardening.rerank(client, port, "q", List.of("the known input", "another")),
                "rerank after the storm");
        assertEquals(200, Hardening.get(client, port, "/health").status());
        // Every permit came back.
        assertEquals(200, Hardening.postJson(client, port, "/embed", Map.of("inputs", texts(PERMITS, "after"))).status());
        for (var m : tandem.models()) {
            assertEquals(0, m.inference().queueSize(), m.role() + " queue empty");
        }
    }

    private static java.util.Set<Integer> set200And429() {
        return new java.util.TreeSet<>(List.of(200, 429));
    }
}
