package bench;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.bgesmallzhv15.BgeSmallZhV15EmbeddingModel;

import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * LangChain4j's embedAll on the corpus (its default: one text per ONNX run, texts spread over
 * a thread per core), and its single embed of a short query; writes the vectors for Tandem's
 * run to compare. Usage: Lc4jBench CORPUS ROUNDS VECTORS_OUT QUERY
 */
public final class Lc4jBench {

    public static void main(String[] args) throws Exception {
        List<String> corpus = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        int rounds = Integer.parseInt(args[1]);
        String query = args[3];
        List<TextSegment> segments = corpus.stream().map(TextSegment::from).toList();
        BgeSmallZhV15EmbeddingModel model = new BgeSmallZhV15EmbeddingModel();
        List<Embedding> vectors = model.embedAll(segments).content(); // warm-up, and the vectors compared
        double best = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            model.embedAll(segments);
            best = Math.max(best, corpus.size() / ((System.nanoTime() - t0) / 1e9));
        }
        // As long a warm-up as Tandem's (CpuBench.WARM_UP_CALLS): both JITs done before timing.
        for (int i = 0; i < 2000; i++) {
            model.embed(query);
        }
        double[] single = new double[300];
        for (int i = 0; i < single.length; i++) {
            long t0 = System.nanoTime();
            model.embed(query);
            single[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(single);
        try (DataOutputStream out = new DataOutputStream(new FileOutputStream(args[2]))) {
            out.writeInt(vectors.size());
            for (Embedding e : vectors) {
                float[] v = e.vector();
                out.writeInt(v.length);
                for (float f : v) {
                    out.writeFloat(f);
                }
            }
        }
        System.out.printf("langchain4j embedAll: %.1f texts/s (best of %d rounds, %d texts)%n", best, rounds, corpus.size());
        System.out.printf("langchain4j single embed p50: %.2f ms, p99: %.2f ms%n", single[single.length / 2],
                single[single.length * 99 / 100]);
        System.out.printf("RESULT lc4j_texts_per_s=%.2f lc4j_single_p50_ms=%.3f%n", best, single[single.length / 2]);
    }
}
