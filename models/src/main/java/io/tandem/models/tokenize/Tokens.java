package io.tandem.models.tokenize;

/**
 * One model input after tokenization: ids with the special tokens, type ids, and whether
 * truncation removed tokens.
 */
public record Tokens(long[] ids, long[] typeIds, boolean truncated) {

    public int length() {
        return ids.length;
    }
}
