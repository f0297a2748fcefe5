package io.tandem.models.infer;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The tokenizer threads, shared by the models of a process. Tokenizers are native code that
 * would pin a virtual thread, so a request's many inputs run here, on platform threads, off the
 * callers' threads.
 * A request's inputs are tokenized in parallel; the first failure in input order is the
 * request's, and its inputs still waiting for a thread are skipped.
 */
public final class Tokenization implements AutoCloseable {

    private final ExecutorService workers;

    public Tokenization(int threads) {
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads,
                r -> Thread.ofPlatform().name("tokenizer-" + n.incrementAndGet()).daemon(true).unstarted(r));
    }

    /** One thread per core but one, for the rest of the process (ORT, HTTP). */
    public static int defaultThreads() {
        return Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1, 64);
    }

    /**
     * Runs every task on the pool and returns the tokens in task order. A lone input is tokenized
     * on the caller's thread: two thread hand-offs cost more than its tokenizing (a 15-token query:
     * 25 µs); the character guard (InputRules) bounds how long a virtual thread stays pinned.
     */
    public List<Tokens> all(List<Supplier<Tokens>> tasks) {
        if (tasks.size() == 1) {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("interrupted while tokenizing");
            }
            return List.of(tasks.getFirst().get());
        }
        AtomicBoolean abandoned = new AtomicBoolean();
        List<CompletableFuture<Tokens>> futures = new ArrayList<>(tasks.size());
        for (Supplier<Tokens> task : tasks) {
            futures.add(CompletableFuture.supplyAsync(() -> {
                if (abandoned.get()) {
                    throw new CancellationException("request abandoned");
                }
                return task.get();
            }, workers));
        }
        List<Tokens> out = new ArrayList<>(futures.size());
        for (CompletableFuture<Tokens> f : futures) {
            try {
                out.add(f.get());
            } catch (ExecutionException | InterruptedException e) {
                abandoned.set(true);
                futures.forEach(other -> other.cancel(false));
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new CancellationException("interrupted while tokenizing");
                }
                throw unwrap(e);
            }
        }
        return out;
    }

    /** Runs one tokenizer-only task (tokenize, decode) on the pool and waits for it. */
    public <T> T one(Supplier<T> task) {
        try {
            return CompletableFuture.supplyAsync(task, workers).get();
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while tokenizing");
        }
    }

    static RuntimeException unwrap(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause instanceof RuntimeException re ? re : InferenceError.from(cause);
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
