package io.tandem.server.core;

/**
 * One input's result with the numbers TEI reports about it.
 *
 * @param tokens         tokens after truncation, special and prompt tokens included
 * @param tokenizeNanos  from the start of the request's inference until the input was queued
 * @param queueNanos     waiting for a batch
 * @param inferenceNanos wall time of the batch that computed it
 */
public record Outcome<R>(R value, int tokens, long tokenizeNanos, long queueNanos, long inferenceNanos) {
}
