package io.tandem.server.http;

import io.tandem.server.core.ServedModel;

/**
 * The models one set of routes serves: both at the root, one on a model's own port or under
 * /models/{name}. {@code biEncoderRerank}: with no reranker, /rerank ranks by the embedder's
 * cosine similarity (at the root only; a single-model surface answers like TEI).
 */
public record Surface(ServedModel embedder, ServedModel reranker, boolean biEncoderRerank) {

    /** The model /info, /tokenize and /decode describe: the embedder if there is one. */
    public ServedModel primary() {
        return embedder != null ? embedder : reranker;
    }
}
