package io.tandem.models.infer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Latency isolation for two models on one GPU. A running batch cannot be pre-empted, so a
 * rerank request that arrives while a large embed batch runs waits for all of it. The gate
 * therefore makes the embedder (low priority) wait while reranker inputs are pending, at most
 * {@code maxWait} so it is never starved, and cut its batches to {@code smallBatchTokens}
 * while reranker traffic is recent: a rerank then waits for at most one small embed batch.
 * With no reranker traffic the embedder runs at its full batch size.
 */
public final class PriorityGate {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition clear = lock.newCondition();
    private final long maxWaitNanos;
    private final int smallBatchTokens;
    private final long recentNanos;
    private int pending;
    private long lastPriorityNanos = Long.MIN_VALUE / 2;

    public PriorityGate(long maxWait, TimeUnit unit, int smallBatchTokens, long recent, TimeUnit recentUnit) {
        this(Duration.ofNanos(unit.toNanos(maxWait)), smallBatchTokens, Duration.ofNanos(recentUnit.toNanos(recent)));
    }

    /**
     * @param maxWait          the longest the embedder waits while reranker inputs are pending
     * @param smallBatchTokens the embedder's budget while reranks are recent
     * @param recent           how long after the last reranker input that lasts
     */
    public PriorityGate(Duration maxWait, int smallBatchTokens, Duration recent) {
        this.maxWaitNanos = maxWait.toNanos();
        this.smallBatchTokens = smallBatchTokens;
        this.recentNanos = recent.toNanos();
    }

    /** The reranker's side: inputs entered its queue. */
    void arrived(int inputs) {
        lock.lock();
        try {
            pending += inputs;
            lastPriorityNanos = System.nanoTime();
        } finally {
            lock.unlock();
        }
    }

    /** The reranker's side: inputs left its queue (computed, failed or dropped). */
    void left(int inputs) {
        lock.lock();
        try {
            pending = Math.max(0, pending - inputs);
            if (pending == 0) {
                clear.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The embedder's token budget now, without waiting: the small one while reranks are recent. */
    int budget(int batchTokens) {
        lock.lock();
        try {
            boolean recent = System.nanoTime() - lastPriorityNanos < recentNanos;
            return recent ? Math.min(batchTokens, smallBatchTokens) : batchTokens;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The embedder's side, before it forms a batch: waits while reranker inputs are pending
     * (up to the maximum wait) and returns the token budget for this batch.
     */
    int admit(int batchTokens) {
        lock.lock();
        try {
            long left = maxWaitNanos;
            while (pending > 0 && left > 0) {
                left = clear.awaitNanos(left);
            }
            return budget(batchTokens);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return batchTokens;
        } finally {
            lock.unlock();
        }
    }
}
