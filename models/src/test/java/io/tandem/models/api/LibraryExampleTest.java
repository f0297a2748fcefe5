package io.tandem.models.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.Fixtures;
import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.SparseVector;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's Java library example, run against the fixtures' transformers references. */
class LibraryExampleTest {

    @Test
    void embedAndRerankInProcess() {
        JsonNode refs = Fixtures.references();
        Path m3 = Fixtures.model("m3-tiny");
        Path rerankerDir = Fixtures.model("reranker-tiny");
        ModelOptions cpu = new ModelOptions(DeviceChoice.CPU, null, null, 1);

        // --- the README example starts here ---
        try (Embedder embedder = Embedder.open(m3, cpu);
             Reranker reranker = Reranker.open(rerankerDir, cpu)) {
            List<String> texts = new ArrayList<>();
            refs.get("embed").forEach(c -> texts.add(c.get("text").asText()));
            List<float[]> vectors = embedder.embed(texts);              // L2-normalised, input order
            List<SparseVector> lexical = embedder.embedSparse(texts);   // bge-m3 lexical weights
            String query = refs.get("rerank").get(0).get("query").asText();
            List<String> docs = new ArrayList<>();
            refs.get("rerank").forEach(c -> {
                if (c.get("query").asText().equals(query)) {
                    docs.add(c.get("text").asText());
                }
            });
            List<Reranker.Rank> ranks = reranker.rerank(query, docs);  // best first
            // --- the README example ends here ---

            for (int i = 0; i < texts.size(); i++) {
                JsonNode expected = refs.get("embed").get(i).get("dense_normalized");
                for (int h = 0; h < expected.size(); h++) {
                    assertEquals(expected.get(h).asDouble(), vectors.get(i)[h], 1e-4);
                }
                assertEquals(refs.get("embed").get(i).get("sparse").size(), lexical.get(i).indices().length);
            }
            float previous = Float.MAX_VALUE;
            for (Reranker.Rank rank : ranks) {
                assertEquals(refs.get("rerank").get(rank.index()).get("score").asDouble(), rank.score(), 1e-4);
                assertEquals(true, rank.score() <= previous);
                previous = rank.score();
            }
            assertEquals(docs.size(), ranks.size());
        }
    }
}
