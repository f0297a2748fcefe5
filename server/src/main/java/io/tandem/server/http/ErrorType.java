package io.tandem.server.http;

/** TEI's error types, serialised with their capitalised names. */
public enum ErrorType {
    Unhealthy, Backend, Overloaded, Validation, Tokenizer, Empty
}
