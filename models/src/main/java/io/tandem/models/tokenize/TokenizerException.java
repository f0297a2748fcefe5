package io.tandem.models.tokenize;

/** The tokenizer library rejected an input (TEI's {@code Tokenizer} error type). */
public class TokenizerException extends RuntimeException {

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
