package io.tandem.models.infer;

import io.tandem.models.tokenize.Tokens;

import java.util.concurrent.CompletableFuture;

/**
 * One input waiting for a batch: its tokens, what it wants computed, and the future its
 * request waits on.
 *
 * @param want     route-specific: which outputs to compute (e.g. a set of embedding outputs)
 * @param enqueued System.nanoTime() when it entered the queue
 */
public record QueuedItem<W, R>(Tokens tokens, W want, long enqueued, CompletableFuture<ItemResult<R>> future) {
}
