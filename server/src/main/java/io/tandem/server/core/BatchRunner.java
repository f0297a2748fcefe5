package io.tandem.server.core;

import java.util.List;

/** Runs one formed batch through a model; returns one result per item, in order. */
@FunctionalInterface
public interface BatchRunner<W, R> {
    List<R> run(List<QueuedItem<W, R>> batch);
}
