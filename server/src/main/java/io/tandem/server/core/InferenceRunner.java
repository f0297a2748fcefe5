package io.tandem.server.core;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Takes a request's inputs through tokenization (on a pool of platform threads, off the HTTP
 * virtual threads: the tokenizer is native code that would pin them) into a model's queue,
 * and waits for all of them. Results come back in input order; the first failure in input
 * order is the request's error, and the other inputs are abandoned.
 */
public final class InferenceRunner implements AutoCloseable {

    private final ExecutorService tokenizers;

    public InferenceRunner(int workers) {
        AtomicInteger n = new AtomicInteger();
        this.tokenizers = Executors.newFixedThreadPool(workers,
                r -> Thread.ofPlatform().name("tokenizer-" + n.incrementAndGet()).daemon(true).unstarted(r));
    }

    /**
     * @param tokenize one task per input, run on the tokenizer pool
     * @param enqueue  puts tokens into the model's queue
     */
    public <R> List<Outcome<R>> run(List<Supplier<Tokens>> tokenize,
                                    Function<Tokens, CompletableFuture<ItemResult<R>>> enqueue) {
        long start = System.nanoTime();
        List<CompletableFuture<?>> queued = new CopyOnWriteArrayList<>();
        List<CompletableFuture<Outcome<R>>> futures = new ArrayList<>(tokenize.size());
        AtomicBoolean abandoned = new AtomicBoolean();
        for (Supplier<Tokens> task : tokenize) {
            // Once the request has failed (and given its permits back), its inputs still waiting for a
            // tokenizer are skipped: work in flight stays bounded by the permits.
            Supplier<Tokens> unlessAbandoned = () -> {
                if (abandoned.get()) {
                    throw new CancellationException("request abandoned");
                }
                return task.get();
            };
            futures.add(CompletableFuture.supplyAsync(unlessAbandoned, tokenizers).thenCompose(tokens -> {
                long enqueued = System.nanoTime();
                CompletableFuture<ItemResult<R>> inQueue = enqueue.apply(tokens);
                queued.add(inQueue);
                if (abandoned.get()) {
                    inQueue.cancel(false); // raced with abandon(): the batcher skips it
                }
                return inQueue.thenApply(r -> new Outcome<>(r.value(), tokens.length(), enqueued - start,
                        r.queueNanos(), r.inferenceNanos()));
            }));
        }
        List<Outcome<R>> outcomes = new ArrayList<>(futures.size());
        for (CompletableFuture<Outcome<R>> f : futures) {
            try {
                outcomes.add(f.get());
            } catch (ExecutionException | CompletionException e) {
                abandoned.set(true);
                abandon(futures, queued);
                throw unwrap(e);
            } catch (InterruptedException e) {
                abandoned.set(true);
                abandon(futures, queued);
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for inference");
            }
        }
        return outcomes;
    }

    /** Runs a tokenizer-only task (tokenize, decode) on the pool and waits for it. */
    public <T> T tokenizeOnly(Supplier<T> task) {
        try {
            return CompletableFuture.supplyAsync(task, tokenizers).get();
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while tokenizing");
        }
    }

    private static void abandon(List<? extends CompletableFuture<?>> futures, List<CompletableFuture<?>> queued) {
        // A queued input whose future is done is skipped by the batcher: abandoned inputs cost no compute.
        futures.forEach(f -> f.cancel(false));
        queued.forEach(f -> f.cancel(false));
    }

    private static RuntimeException unwrap(Exception e) {
        Throwable cause = e;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause instanceof RuntimeException re ? re : new IllegalStateException(cause.getMessage(), cause);
    }

    @Override
    public void close() {
        tokenizers.shutdownNow();
    }
}
