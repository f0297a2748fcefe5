package io.tandem.models.infer;

/**
 * The result of one input with its share of the timings (nanoseconds): the wait in the
 * queue, and the wall time of the batch that computed it.
 */
public record ItemResult<R>(R value, long queueNanos, long inferenceNanos) {
}
