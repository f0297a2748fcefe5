package io.tandem.models.tokenize;

/**
 * One token as /tokenize shows it: {@code start}/{@code stop} are UTF-8 byte offsets into the
 * input, null for special tokens.
 */
public record TokenSpan(long id, String text, boolean special, Integer start, Integer stop) {
}
