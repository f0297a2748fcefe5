package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.OutputTensor;
import io.tandem.ort.bound.BoundSession;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Small packed batches run at fixed shapes through a {@link BoundSession}, where CUDA graphs
 * replay them (--cuda-graphs). The first batch of a shape runs on the model's own session, which
 * tells the shapes of the outputs to bind; every later one runs bound. A bound run that fails
 * turns the path off for good and the batch runs on the model's session: a graph ORT cannot
 * capture must not cost a request.
 */
final class BoundRuns implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(BoundRuns.class.getName());
    /**
     * Captured graphs a model keeps at most; batches of further shapes run unbucketed. Each
     * graph keeps its own scratch memory (~5 MiB at these shapes on the H200: +322 MiB over
     * 10,000 mixed requests with 64 allowed), which caps what the graphs can ever take.
     */
    static final int MAX_SHAPES = 32;

    private final String name;
    private final ShapeBuckets buckets;
    private final BoundSession session;
    private final Map<Integer, Map<String, long[]>> outputShapes = new ConcurrentHashMap<>();
    private volatile boolean off;

    BoundRuns(String name, int longestRow, BoundSession session) {
        this.name = name;
        this.buckets = new ShapeBuckets(longestRow, MAX_SHAPES);
        this.session = session;
    }

    /** The most bytes each packed input takes in any bucket. */
    static Map<String, Long> inputBytes() {
        long rows = ShapeBuckets.MAX_ROWS;
        long tokens = ShapeBuckets.MAX_TOKENS;
        return Map.of("input_ids", tokens * Long.BYTES, "position_ids", tokens * Long.BYTES,
                "token_offset", rows * tokens * Integer.BYTES, PackedInputs.CU_SEQLENS, (rows + 1) * Integer.BYTES);
    }

    /** Fills the rows at their bucket's shape where they have one, else as they are. */
    Batch fill(PackedInputs buffers, List<Tokens> rows) {
        ShapeBuckets.Bucket bucket = off ? null : buckets.bucketOf(rows);
        int id = bucket != null ? buckets.idOf(bucket) : 0;
        return id > 0 ? buffers.fill(rows, bucket, id) : buffers.fill(rows);
    }

    /** The batch's outputs: bound where its shape has been seen before, else from {@code model}'s session. */
    Map<String, OutputTensor> run(Batch batch, Set<String> fetch, InferenceSession model) {
        int id = batch.shapeId();
        if (id == 0) {
            return model.run(batch.feeds(), fetch, false);
        }
        Map<String, long[]> shapes = outputShapes.get(id);
        if (shapes == null || off) {
            Map<String, OutputTensor> all = model.run(batch.feeds(), model.outputShapes().keySet(), false);
            Map<String, long[]> seen = new HashMap<>();
            all.forEach((output, tensor) -> seen.put(output, tensor.shape()));
            outputShapes.putIfAbsent(id, seen);
            Map<String, OutputTensor> asked = new HashMap<>(all);
            asked.keySet().retainAll(fetch);
            return asked;
        }
        try {
            return session.run(id, batch.feeds(), shapes, fetch);
        } catch (RuntimeException e) {
            if (!off) {
                off = true;
                LOG.warning("model " + name + ": fixed-shape runs (CUDA graphs) turned off, batches run as they are: "
                        + e.getMessage());
            }
            return model.run(batch.feeds(), fetch, false);
        }
    }

    /** How many fixed shapes have run bound (each a captured graph on CUDA). */
    int boundShapes() {
        return session.boundShapes();
    }

    @Override
    public void close() {
        session.close();
    }
}
