package io.tandem.server.core;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One model's dynamic batcher: a queue of tokenized inputs and one platform thread that cuts
 * them into batches and runs them. A batch starts from the oldest input (nothing starves) and
 * takes the waiting inputs closest to it in length, while the padded size
 * (longest × rows) stays within the token budget, so rows of a batch waste little padding.
 * A packed (padding-free) model computes only real tokens, so its budget counts those; its
 * rows × longest stays within {@link #PACKED_SPAN} budgets, because attention still sizes
 * per-row scratch (token offsets, softmax statistics) by the longest row.
 * There is no wait timer: batches form from whatever queued up while the model was busy.
 */
public final class BatchQueue<W, R> implements AutoCloseable {

    /** Hooks for metrics; all no-ops by default. */
    public interface Listener {
        default void batchFormed(int size, int tokens) {
        }

        default void dropped() {
        }

        default void batchFailed(RuntimeException e) {
        }

        default void batchSucceeded() {
        }
    }

    private static final Logger LOG = Logger.getLogger(BatchQueue.class.getName());
    /** For packed models: how many token budgets rows × longest may reach. */
    static final int PACKED_SPAN = 8;
    /** How many waiting inputs are looked at when grouping by length. */
    private static final int WINDOW = 1024;

    private final String name;
    private final BatchRunner<W, R> runner;
    private final int maxBatchTokens;
    private final int maxBatchRequests;
    private final Listener listener;
    private final LinkedList<QueuedItem<W, R>> waiting = new LinkedList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition drained = lock.newCondition();
    private final Thread thread;
    private final PriorityGate gate;
    private final boolean priority;
    private final boolean packed;
    private boolean closing;
    private int running;

    public BatchQueue(String name, BatchRunner<W, R> runner, int maxBatchTokens, Integer maxBatchRequests,
                      Listener listener) {
        this(name, runner, maxBatchTokens, maxBatchRequests, listener, null, false, false);
    }

    /**
     * @param gate     shared with the other model on the same GPU, or null
     * @param priority true for the side the gate favours (the reranker)
     * @param packed   the model runs padding-free batches: the budget counts real tokens
     */
    public BatchQueue(String name, BatchRunner<W, R> runner, int maxBatchTokens, Integer maxBatchRequests,
                      Listener listener, PriorityGate gate, boolean priority, boolean packed) {
        this.name = name;
        this.packed = packed;
        this.gate = gate;
        this.priority = priority;
        this.runner = runner;
        this.maxBatchTokens = maxBatchTokens;
        this.maxBatchRequests = maxBatchRequests == null ? Integer.MAX_VALUE : maxBatchRequests;
        this.listener = listener;
        this.thread = Thread.ofPlatform().name("batch-" + name).daemon(true)
                .stackSize(16L << 20).start(this::loop); // native inference: see Tandem.onLargeStack
    }

    /** Queues one input; the future completes when its batch has run. */
    public CompletableFuture<ItemResult<R>> submit(Tokens tokens, W want) {
        CompletableFuture<ItemResult<R>> future = new CompletableFuture<>();
        lock.lock();
        try {
            if (closing) {
                throw new IllegalStateException("model " + name + " is shutting down");
            }
            waiting.add(new QueuedItem<>(tokens, want, System.nanoTime(), future));
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
        if (gate != null && priority) {
            gate.arrived(1);
            future.whenComplete((r, e) -> gate.left(1));
        }
        return future;
    }

    public int size() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            List<QueuedItem<W, R>> batch;
            lock.lock();
            try {
                while (waiting.isEmpty() && !closing) {
                    notEmpty.awaitUninterruptibly();
                }
                if (waiting.isEmpty()) {
                    drained.signalAll();
                    return;
                }
            } finally {
                lock.unlock();
            }
            // Outside the lock: the gate may make this (low-priority) side wait.
            int budget = gate != null && !priority ? gate.admit(maxBatchTokens) : maxBatchTokens;
            lock.lock();
            try {
                batch = nextBatch(budget);
                running = batch.size();
            } finally {
                lock.unlock();
            }
            if (!batch.isEmpty()) {
                runBatch(batch);
            }
            lock.lock();
            try {
                running = 0;
                if (waiting.isEmpty()) {
                    drained.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** Cuts the next batch from the waiting inputs; called with the lock held. */
    private List<QueuedItem<W, R>> nextBatch(int budget) {
        dropAbandoned();
        if (waiting.isEmpty()) {
            return List.of();
        }
        QueuedItem<W, R> head = waiting.removeFirst();
        List<QueuedItem<W, R>> batch = new ArrayList<>();
        batch.add(head);
        int longest = head.tokens().length();
        int headLength = longest;
        long real = longest;
        List<QueuedItem<W, R>> candidates = new ArrayList<>(Math.min(waiting.size(), WINDOW));
        Iterator<QueuedItem<W, R>> it = waiting.iterator();
        while (it.hasNext() && candidates.size() < WINDOW) {
            candidates.add(it.next());
        }
        candidates.sort(Comparator.comparingInt(c -> Math.abs(c.tokens().length() - headLength)));
        for (QueuedItem<W, R> c : candidates) {
            if (batch.size() >= maxBatchRequests) {
                break;
            }
            int newLongest = Math.max(longest, c.tokens().length());
            long padded = (long) newLongest * (batch.size() + 1);
            boolean fits = packed ? real + c.tokens().length() <= budget && padded <= (long) PACKED_SPAN * budget
                    : padded <= budget;
            if (!fits) {
                continue;
            }
            batch.add(c);
            longest = newLongest;
            real += c.tokens().length();
        }
        if (batch.size() > 1) {
            Set<QueuedItem<W, R>> taken = Collections.newSetFromMap(new IdentityHashMap<>());
            taken.addAll(batch);
            waiting.removeIf(taken::contains);
        }
        int tokens = batch.stream().mapToInt(b -> b.tokens().length()).sum();
        listener.batchFormed(batch.size(), tokens);
        return batch;
    }

    /** Inputs whose requests gave up (client gone, request failed elsewhere) are not run. */
    private void dropAbandoned() {
        Iterator<QueuedItem<W, R>> it = waiting.iterator();
        while (it.hasNext()) {
            if (it.next().future().isDone()) {
                it.remove();
                listener.dropped();
            }
        }
    }

    private void runBatch(List<QueuedItem<W, R>> batch) {
        long start = System.nanoTime();
        try {
            List<R> results = runner.run(batch);
            long end = System.nanoTime();
            long inference = end - start;
            // The listener first: a caller woken by its result may ask /health straight away.
            listener.batchSucceeded();
            for (int i = 0; i < batch.size(); i++) {
                QueuedItem<W, R> item = batch.get(i);
                item.future().complete(new ItemResult<>(results.get(i), start - item.enqueued(), inference));
            }
        } catch (RuntimeException | Error e) {
            // One failed batch fails only its own inputs; the thread goes on with the next. Also after an
            // Error: a dead batch thread would leave every later input of this model waiting forever.
            LOG.log(e instanceof Error ? Level.SEVERE : Level.WARNING,
                    "model " + name + ": batch of " + batch.size() + " failed: " + e.getMessage(),
                    e instanceof Error ? e : null);
            RuntimeException failure = e instanceof RuntimeException re ? re : new RuntimeException(e.getMessage(), e);
            listener.batchFailed(failure);
            for (QueuedItem<W, R> item : batch) {
                item.future().completeExceptionally(failure);
            }
        }
    }

    /**
     * Stops taking inputs and waits (up to the deadline) for those already queued to run.
     *
     * @return true when everything queued has run
     */
    public boolean drain(long timeoutNanos) {
        lock.lock();
        try {
            closing = true;
            notEmpty.signalAll();
            long left = timeoutNanos;
            while ((!waiting.isEmpty() || running > 0) && left > 0) {
                left = drained.awaitNanos(left);
            }
            return waiting.isEmpty() && running == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        drain(0);
        lock.lock();
        try {
            for (QueuedItem<W, R> item : waiting) {
                item.future().completeExceptionally(new IllegalStateException("model " + name + " shut down"));
            }
            waiting.clear();
        } finally {
            lock.unlock();
        }
    }
}
