package io.tandem.models.pipeline;

/** What an embedding request asks the graph for. */
public enum EmbedOutput {
    /** The pooled vector (unnormalised). */
    DENSE,
    /** One vector per token: ColBERT vectors when the model has them, else hidden states. */
    TOKENS,
    /** bge-m3 lexical weights. */
    SPARSE
}
