package io.tandem.server.grpc;

import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The threads doing one call's work. When the call is cancelled (client gone, deadline passed)
 * they are interrupted: the core then gives up the call's inputs, and the batcher drops those
 * still queued instead of computing them for nobody.
 */
final class CallWork {

    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private volatile boolean cancelled;

    <T> CompletableFuture<T> run(Supplier<T> work, Executor executor) {
        return CompletableFuture.supplyAsync(() -> {
            Thread thread = Thread.currentThread();
            threads.add(thread);
            try {
                if (cancelled) {
                    throw new CancellationException("call cancelled");
                }
                return work.get();
            } finally {
                threads.remove(thread);
                Thread.interrupted(); // a late interrupt must not outlive the work on a pooled thread
            }
        }, executor);
    }

    void cancel() {
        cancelled = true;
        threads.forEach(Thread::interrupt);
    }
}
