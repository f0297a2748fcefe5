package io.tandem.models.pipeline;

import io.tandem.models.tokenize.Tokens;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A batch whose graph inputs are built and waiting for the model ({@link Model#prepare}).
 * Holds one of the model's input buffer sets until it runs or is discarded.
 */
public final class PreparedBatch {

    private final List<Tokens> rows;
    private final Batch batch;
    private final Runnable release;
    private final AtomicBoolean released = new AtomicBoolean();

    PreparedBatch(List<Tokens> rows, Batch batch, Runnable release) {
        this.rows = rows;
        this.batch = batch;
        this.release = release;
    }

    public List<Tokens> rows() {
        return rows;
    }

    Batch batch() {
        return batch;
    }

    /** Gives the input buffers back without running; running does it too. Idempotent. */
    public void discard() {
        if (released.compareAndSet(false, true)) {
            release.run();
        }
    }
}
