package io.tandem.models;

/** What a model computes, which decides the routes it serves. */
public enum ModelKind {
    /** Sentence embeddings (dense, and for bge-m3 also sparse and ColBERT). */
    EMBEDDER,
    /** A sequence classifier with one label: a cross-encoder reranker. */
    RERANKER,
    /** A sequence classifier with several labels. */
    CLASSIFIER
}
