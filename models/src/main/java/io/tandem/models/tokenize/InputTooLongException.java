package io.tandem.models.tokenize;

/** An input over the model's token limit with truncation off. */
public class InputTooLongException extends RuntimeException {

    private final int tokens;
    private final int limit;

    public InputTooLongException(int tokens, int limit) {
        super("`inputs` must have less than " + limit + " tokens. Given: " + tokens);
        this.tokens = tokens;
        this.limit = limit;
    }

    public int tokens() {
        return tokens;
    }

    public int limit() {
        return limit;
    }
}
