package io.tandem.ort.bound;

import io.tandem.ort.DeviceChoice;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.InferenceException;
import io.tandem.ort.InputTensor;
import io.tandem.ort.OutputTensor;
import io.tandem.ort.SessionFactory;
import io.tandem.ort.SessionSpec;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C API path (IOBinding through FFM) against ORT's Java API on the same graph, on the CPU:
 * the same outputs to the bit, for several shape ids, with buffers reused between calls.
 */
class BoundSessionTest {

    private static final Path MODEL = Path.of("../models/src/test/resources/fixtures/m3-tiny/model.onnx");
    private static final Set<String> OUTPUTS = Set.of("dense_vecs", "sparse_weights", "colbert_vecs");

    @Test
    void boundRunsGiveWhatTheJavaApiGives() throws Exception {
        Random random = new Random(7);
        try (InferenceSession java = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.CPU, null, 1));
             BoundSession bound = BoundSession.open("m3", MODEL, null, -1, null,
                     Map.of("input_ids", 64L * 8, "attention_mask", 64L * 8))) {
            int[][] shapes = {{2, 8}, {1, 5}, {2, 8}, {3, 4}, {1, 5}};
            Map<String, Integer> ids = new HashMap<>();
            for (int[] shape : shapes) {
                Map<String, InputTensor> feeds = feeds(shape[0], shape[1], random);
                Map<String, OutputTensor> expected = java.run(feeds, OUTPUTS, false);
                Map<String, long[]> outputShapes = new HashMap<>();
                expected.forEach((name, t) -> outputShapes.put(name, t.shape()));
                int id = ids.computeIfAbsent(shape[0] + "x" + shape[1], k -> ids.size() + 1);
                Map<String, OutputTensor> got = bound.run(id, feeds, outputShapes, Set.of("dense_vecs", "colbert_vecs"));
                assertEquals(Set.of("dense_vecs", "colbert_vecs"), got.keySet(), "only the outputs asked for");
                for (String output : got.keySet()) {
                    assertArrayEquals(expected.get(output).shape(), got.get(output).shape(), output);
                    assertArrayEquals(expected.get(output).data(), got.get(output).data(), output + " " + shape[0] + "x" + shape[1]);
                }
            }
            assertEquals(3, bound.boundShapes(), "one binding per shape, reused");
            assertEquals(false, bound.capturesGraphs());
            Map<String, InputTensor> other = feeds(2, 9, random);
            assertThrows(IllegalArgumentException.class, () -> bound.run(1, other, Map.of(), OUTPUTS),
                    "an id keeps the shapes it was bound with");
            Map<String, InputTensor> tooLarge = feeds(16, 16, random);
            assertThrows(IllegalArgumentException.class, () -> bound.run(9, tooLarge, Map.of(), OUTPUTS),
                    "inputs larger than their buffers are refused");
            Map<String, InputTensor> first = feeds(2, 8, random);
            Thread stranger = new Thread(() -> assertThrows(IllegalStateException.class,
                    () -> bound.run(1, first, Map.of(), OUTPUTS), "another thread would capture every id again"));
            stranger.start();
            stranger.join();
        }
    }

    @Test
    void aGraphGivenAsBytesRunsAsTheFile() throws Exception {
        byte[] graph = Files.readAllBytes(MODEL);
        Map<String, InputTensor> feeds = feeds(2, 6, new Random(3));
        try (InferenceSession java = SessionFactory.open(new SessionSpec("m3", MODEL, DeviceChoice.CPU, null, 1));
             BoundSession bound = BoundSession.open("m3", MODEL, graph, -1, null,
                     Map.of("input_ids", 12L * 8, "attention_mask", 12L * 8))) {
            OutputTensor expected = java.run(feeds, Set.of("dense_vecs"), false).get("dense_vecs");
            Map<String, long[]> shapes = new HashMap<>();
            java.run(feeds, OUTPUTS, false).forEach((name, t) -> shapes.put(name, t.shape()));
            assertArrayEquals(expected.data(), bound.run(1, feeds, shapes, Set.of("dense_vecs")).get("dense_vecs").data());
        }
    }

    @Test
    void ortsOwnMessageComesThrough() {
        Map<String, InputTensor> feeds = new HashMap<>(feeds(1, 4, new Random(1)));
        feeds.put("no_such_input", feeds.get("input_ids"));
        try (BoundSession bound = BoundSession.open("m3", MODEL, null, -1, null,
                Map.of("input_ids", 64L, "attention_mask", 64L, "no_such_input", 64L))) {
            InferenceException e = assertThrows(InferenceException.class,
                    () -> bound.run(1, feeds, Map.of("dense_vecs", new long[] {1, 32}), Set.of("dense_vecs")));
            assertTrue(e.getMessage().startsWith("BindInput no_such_input: ") && e.getMessage().length() > 40,
                    e.getMessage());
        }
    }

    /** Random word ids framed as XLM-R frames a text, the last row shorter (padding in the mask). */
    private static Map<String, InputTensor> feeds(int rows, int seq, Random random) {
        LongBuffer ids = longs(rows * seq);
        LongBuffer mask = longs(rows * seq);
        for (int r = 0; r < rows; r++) {
            int length = r == rows - 1 && seq > 3 ? seq - 2 : seq;
            for (int t = 0; t < seq; t++) {
                long id = t == 0 ? 0 : t == length - 1 ? 2 : t < length ? 5 + random.nextInt(200) : 1;
                ids.put(r * seq + t, id);
                mask.put(r * seq + t, t < length ? 1 : 0);
            }
        }
        long[] shape = {rows, seq};
        return Map.of("input_ids", new InputTensor(ids, shape), "attention_mask", new InputTensor(mask, shape));
    }

    private static LongBuffer longs(int n) {
        return ByteBuffer.allocateDirect(n * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }
}
