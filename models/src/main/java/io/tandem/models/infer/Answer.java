package io.tandem.models.infer;

/**
 * A served request: its result and what it cost.
 *
 * @param tokens     tokens computed, after truncation, special and prompt tokens included
 * @param characters Unicode characters of the inputs as sent
 * @param timings    the request's total time and its inputs' mean tokenization, queue and inference times
 */
public record Answer<T>(T value, long tokens, long characters, Timings timings) {
}
