package io.tandem.models.infer;

/** One text's place in a ranking: its index in the request and its score. */
public record Rank(int index, float score) {
}
