package io.tandem.models.infer;

import java.util.List;

/**
 * Runs formed batches through a model in two steps, so that the next batch's tensors are
 * built while the current batch runs.
 */
@FunctionalInterface
public interface BatchRunner<W, R> {

    /** Builds the model inputs of a batch; called on the queue's cutting thread. */
    Prepared<R> prepare(List<QueuedItem<W, R>> batch);

    /** A batch with its inputs built, waiting for the model. */
    interface Prepared<R> {

        /** Runs the batch; one result per item, in order. */
        List<R> run();

        /** Gives the inputs back without running (the batch was cut again). */
        default void discard() {
        }
    }
}
