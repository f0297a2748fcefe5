package io.tandem.models.infer;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One model's dynamic batcher: a queue of tokenized inputs, a thread that cuts them into
 * batches and builds their tensors, and a thread that runs them. A batch starts from the
 * oldest input (nothing starves) and takes the waiting inputs closest to it in length while
 * it fits the {@link Budget}, so rows of a batch waste little padding.
 *
 * <p>The next batch is cut and its tensors built while the current one runs (TEI's one-slot
 * prefetch), so the device never waits for the host. It is cut early only when the waiting
 * inputs already fill a batch, or when a runner is idle: cutting as soon as anything waits
 * would trade one full batch for many small ones under load. There is no wait timer.
 *
 * <p>A GPU runs one batch at a time, so a CUDA model has one runner. On the CPU several batches
 * may run at once, one runner thread each, as LangChain4j runs texts: ONNX Runtime's parallel
 * sections scale poorly on a few cores for a small model's small matrices.
 */
public final class BatchQueue<W, R> implements AutoCloseable {

    /** Hooks for the model's health and metrics; all no-ops by default. */
    public interface Listener {
        /** A batch was cut: each row's token count, in batch order. */
        default void batchFormed(List<Integer> rowLengths) {
        }

        /** An input whose request had gone was dropped without running. */
        default void dropped() {
        }

        default void batchFailed(RuntimeException e) {
        }

        default void batchSucceeded() {
        }
    }

    /**
     * What one batch may hold.
     *
     * @param maxTokens the token budget: rows × longest, or the real tokens for a packed model
     * @param maxRows   most inputs per batch
     * @param packed    the model computes only real tokens (padding-free batches)
     */
    public record Budget(int maxTokens, int maxRows, boolean packed) {

        /** For packed models: how many token budgets rows × longest may reach. */
        static final int PACKED_SPAN = 8;

        /**
         * Whether rows of these lengths fit {@code tokens}. A packed model still sizes
         * attention's per-row scratch by the longest row, so rows × longest stays within
         * {@link #PACKED_SPAN} budgets there.
         */
        boolean fits(int rows, int longest, long real, int tokens) {
            long padded = (long) longest * rows;
            return rows <= maxRows && (packed ? real <= tokens && padded <= (long) PACKED_SPAN * tokens : padded <= tokens);
        }

        /** What a batch costs against the budget. */
        long cost(int rows, int longest, long real) {
            return packed ? real : (long) longest * rows;
        }
    }

    private static final Logger LOG = Logger.getLogger(BatchQueue.class.getName());
    /** How many waiting inputs are looked at when grouping by length. */
    private static final int WINDOW = 1024;

    /** A cut batch with its tensors built. */
    private record Cut<W, R>(List<QueuedItem<W, R>> items, long cost, BatchRunner.Prepared<R> prepared) {
    }

    private final String name;
    private final BatchRunner<W, R> runner;
    private final Budget budget;
    private final Listener listener;
    private final PriorityGate gate;
    private final boolean priority;
    private final LinkedList<QueuedItem<W, R>> waiting = new LinkedList<>();
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * Three conditions, so that each change wakes only who waits for it: on two cores a thread
     * woken for nothing takes a core from the batch being run.
     */
    private final Condition cutterWake = lock.newCondition();
    /** A batch is cut, or the cutter is done. */
    private final Condition runnerWake = lock.newCondition();
    /** Inputs left the queue or completed (drain), or the threads stop. */
    private final Condition changed = lock.newCondition();
    private long waitingTokens;
    /** Inputs cut into batches that have not completed yet. */
    private int inFlight;
    private Cut<W, R> next;
    private final int runners;
    /** Runners busy with a batch. */
    private int running;
    private boolean closing;
    private boolean cutterDone;

    /**
     * @param gate     shared with the other model on the same GPU, or null
     * @param priority true for the side the gate favours (the reranker)
     * @param runners  batches that may run at once (1 on a GPU)
     */
    public BatchQueue(String name, BatchRunner<W, R> runner, Budget budget, Listener listener, PriorityGate gate,
                      boolean priority, int runners) {
        this.name = name;
        this.runners = runners;
        this.runner = runner;
        this.budget = budget;
        this.listener = listener;
        this.gate = gate;
        this.priority = priority;
        // Native inference runs on these threads: a large stack, as for model loading.
        Thread.ofPlatform().name("batch-" + name).daemon(true).stackSize(16L << 20).start(this::cutLoop);
        for (int i = 0; i < runners; i++) {
            Thread.ofPlatform().name("infer-" + name + (runners > 1 ? "-" + i : "")).daemon(true)
                    .stackSize(16L << 20).start(this::runLoop);
        }
    }

    public BatchQueue(String name, BatchRunner<W, R> runner, Budget budget, Listener listener) {
        this(name, runner, budget, listener, null, false, 1);
    }

    /** Queues one input; the future completes when its batch has run. */
    public CompletableFuture<ItemResult<R>> submit(Tokens tokens, W want) {
        return submitAll(List.of(tokens), want).getFirst();
    }

    /**
     * Queues a request's inputs together, so the next cut sees all of them at once; the
     * futures complete as their batches run.
     */
    public List<CompletableFuture<ItemResult<R>>> submitAll(List<Tokens> inputs, W want) {
        List<CompletableFuture<ItemResult<R>>> futures = new ArrayList<>(inputs.size());
        lock.lock();
        try {
            if (closing) {
                throw new IllegalStateException("model " + name + " is shutting down");
            }
            long now = System.nanoTime();
            for (Tokens tokens : inputs) {
                CompletableFuture<ItemResult<R>> future = new CompletableFuture<>();
                waiting.add(new QueuedItem<>(tokens, want, now, future));
                waitingTokens += tokens.length();
                futures.add(future);
            }
            cutterWake.signal();
        } finally {
            lock.unlock();
        }
        if (gate != null && priority) {
            gate.arrived(inputs.size());
            futures.forEach(f -> f.whenComplete((r, e) -> gate.left(1)));
        }
        return futures;
    }

    /** Inputs waiting for a batch. */
    public int size() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** Nothing waiting and no batch cut ahead: the model is about to have nothing to do. */
    public boolean idle() {
        lock.lock();
        try {
            return waiting.isEmpty() && next == null;
        } finally {
            lock.unlock();
        }
    }

    private void cutLoop() {
        while (true) {
            lock.lock();
            try {
                while (!closing && !worthCutting() || next != null) {
                    cutterWake.awaitUninterruptibly();
                }
                if (waiting.isEmpty()) {
                    cutterDone = true;
                    signalEveryone();
                    return;
                }
            } finally {
                lock.unlock();
            }
            // Outside the lock: the gate may make this (low-priority) side wait.
            int tokens = gate != null && !priority ? gate.admit(budget.maxTokens()) : budget.maxTokens();
            Cut<W, R> cut;
            lock.lock();
            try {
                cut = nextBatch(tokens);
            } finally {
                lock.unlock();
            }
            if (cut == null) {
                continue;
            }
            BatchRunner.Prepared<R> prepared;
            try {
                prepared = runner.prepare(cut.items());
            } catch (RuntimeException | Error e) {
                fail(cut.items(), e);
                lock.lock();
                try {
                    inFlight -= cut.items().size();
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
                continue;
            }
            lock.lock();
            try {
                next = new Cut<>(cut.items(), cut.cost(), prepared);
                runnerWake.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Called with the lock held. */
    private void signalEveryone() {
        cutterWake.signal();
        runnerWake.signalAll();
        changed.signalAll();
    }

    /** Called with the lock held: inputs wait, and either a runner is idle or they fill a batch. */
    private boolean worthCutting() {
        if (waiting.isEmpty()) {
            return false;
        }
        return running < runners || waitingTokens >= budget.maxTokens() || waiting.size() >= budget.maxRows();
    }

    private void runLoop() {
        while (true) {
            Cut<W, R> cut;
            lock.lock();
            try {
                while (next == null && !cutterDone) {
                    runnerWake.awaitUninterruptibly();
                }
                if (next == null) {
                    return;
                }
                cut = next;
                next = null;
                running++;
                cutterWake.signal();
            } finally {
                lock.unlock();
            }
            try {
                if (cutAgain(cut)) {
                    continue;
                }
                if (cut.items().stream().allMatch(i -> i.future().isDone())) {
                    cut.prepared().discard();
                    cut.items().forEach(i -> listener.dropped());
                    continue;
                }
                runBatch(cut);
            } finally {
                lock.lock();
                try {
                    running--;
                    inFlight -= cut.items().size();
                    cutterWake.signal();
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * The low-priority side cut this batch before reranker inputs arrived: if it is now over
     * the gate's budget, its inputs go back to the queue to be cut smaller.
     */
    private boolean cutAgain(Cut<W, R> cut) {
        if (gate == null || priority || cut.items().size() == 1 || cut.cost() <= gate.budget(budget.maxTokens())) {
            return false;
        }
        cut.prepared().discard();
        lock.lock();
        try {
            for (QueuedItem<W, R> item : cut.items()) {
                waiting.add(item);
                waitingTokens += item.tokens().length();
            }
            waiting.sort(Comparator.comparingLong(QueuedItem::enqueued));
        } finally {
            lock.unlock();
        }
        return true;
    }

    /** Cuts the next batch from the waiting inputs; called with the lock held. */
    private Cut<W, R> nextBatch(int tokens) {
        dropAbandoned();
        if (waiting.isEmpty()) {
            return null;
        }
        QueuedItem<W, R> head = waiting.removeFirst();
        List<QueuedItem<W, R>> batch = new ArrayList<>();
        batch.add(head);
        int headLength = head.tokens().length();
        int longest = headLength;
        long real = headLength;
        List<QueuedItem<W, R>> candidates = new ArrayList<>(Math.min(waiting.size(), WINDOW));
        Iterator<QueuedItem<W, R>> it = waiting.iterator();
        while (it.hasNext() && candidates.size() < WINDOW) {
            candidates.add(it.next());
        }
        candidates.sort(Comparator.comparingInt(c -> Math.abs(c.tokens().length() - headLength)));
        for (QueuedItem<W, R> c : candidates) {
            if (batch.size() >= budget.maxRows()) {
                break;
            }
            int length = c.tokens().length();
            if (budget.fits(batch.size() + 1, Math.max(longest, length), real + length, tokens)) {
                batch.add(c);
                longest = Math.max(longest, length);
                real += length;
            }
        }
        if (batch.size() > 1) {
            Set<QueuedItem<W, R>> taken = Collections.newSetFromMap(new IdentityHashMap<>());
            taken.addAll(batch);
            waiting.removeIf(taken::contains);
        }
        waitingTokens -= real;
        inFlight += batch.size();
        listener.batchFormed(batch.stream().map(b -> b.tokens().length()).toList());
        return new Cut<>(batch, budget.cost(batch.size(), longest, real), null);
    }

    /** Inputs whose requests gave up (client gone, request failed elsewhere) are not run. */
    private void dropAbandoned() {
        Iterator<QueuedItem<W, R>> it = waiting.iterator();
        while (it.hasNext()) {
            QueuedItem<W, R> item = it.next();
            if (item.future().isDone()) {
                it.remove();
                waitingTokens -= item.tokens().length();
                listener.dropped();
            }
        }
    }

    private void runBatch(Cut<W, R> cut) {
        List<QueuedItem<W, R>> batch = cut.items();
        long start = System.nanoTime();
        try {
            List<R> results = cut.prepared().run();
            long inference = System.nanoTime() - start;
            // The listener first: a caller woken by its result may ask /health straight away.
            listener.batchSucceeded();
            for (int i = 0; i < batch.size(); i++) {
                QueuedItem<W, R> item = batch.get(i);
                item.future().complete(new ItemResult<>(results.get(i), start - item.enqueued(), inference));
            }
        } catch (RuntimeException | Error e) {
            fail(batch, e);
        }
    }

    /**
     * One failed batch fails only its own inputs; the threads go on with the next. Also after
     * an Error: a dead batch thread would leave every later input of this model waiting forever.
     */
    private void fail(List<QueuedItem<W, R>> batch, Throwable e) {
        LOG.log(e instanceof Error ? Level.SEVERE : Level.WARNING,
                "model " + name + ": batch of " + batch.size() + " failed: " + e.getMessage(), e instanceof Error ? e : null);
        RuntimeException failure = e instanceof RuntimeException re ? re : new RuntimeException(e.getMessage(), e);
        listener.batchFailed(failure);
        for (QueuedItem<W, R> item : batch) {
            item.future().completeExceptionally(failure);
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
            signalEveryone();
            long left = timeoutNanos;
            while ((!waiting.isEmpty() || inFlight > 0) && left > 0) {
                left = changed.awaitNanos(left);
            }
            return waiting.isEmpty() && inFlight == 0;
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
            waitingTokens = 0;
            signalEveryone();
        } finally {
            lock.unlock();
        }
    }
}
