package io.tandem.server.grpc;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.Answer;
import io.tandem.server.trace.RequestSpan;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * How a call's work runs: the core blocks until its batch ran, so every piece of work goes to a
 * virtual thread and the call is answered when it is done, never from grpc-java's own threads.
 * A call whose client left (cancelled, deadline passed) is not answered and nothing is logged;
 * work already in the core finishes there and is dropped.
 */
final class Calls {

    /**
     * Inputs of one stream in the core at once. The stream reads no further message until one of
     * them is answered, so a fast client waits (HTTP/2 flow control) instead of being refused for
     * the permits that the same stream holds; the window is also how many of its inputs can
     * share a batch.
     */
    static final int STREAM_WINDOW = 64;

    private Calls() {
    }

    /** A response and, for an RPC that ran the model, what it cost (TEI's response headers); else null. */
    record Reply<T>(T message, Answer<?> cost) {
    }

    /** One request, one response. */
    static <T> void unary(StreamObserver<T> observer, Executor executor, Supplier<Reply<T>> work) {
        ServerCallStreamObserver<T> out = (ServerCallStreamObserver<T>) observer;
        CallWork call = new CallWork();
        // With a handler set, answering a cancelled call is a no-op instead of an exception.
        out.setOnCancelHandler(call::cancel);
        if (Context.current().isCancelled()) {
            return; // its deadline passed before it started: grpc-java has already answered DEADLINE_EXCEEDED
        }
        Metadata headers = ComputeHeaders.current();
        RequestSpan span = GrpcSpans.current();
        call.run(work, executor).whenComplete((reply, failure) -> {
            if (out.isCancelled()) {
                return;
            }
            if (failure != null) {
                out.onError(GrpcErrors.status(failure));
                return;
            }
            if (reply.cost() != null) {
                ComputeHeaders.fill(headers, reply.cost());
                span.answered(reply.cost());
            }
            out.onNext(reply.message());
            out.onCompleted();
        });
    }

    /**
     * A bidirectional stream answered message by message, in the order the requests came, with up
     * to {@link #STREAM_WINDOW} of them in the core at once. As in TEI, the first failure (in that
     * order) ends the call with its status.
     */
    static <Q, R> StreamObserver<Q> ordered(StreamObserver<R> observer, Executor executor, Function<Q, R> work) {
        ServerCallStreamObserver<R> out = (ServerCallStreamObserver<R>) observer;
        Ordered<Q, R> stream = new Ordered<>(out, executor, work);
        out.setOnCancelHandler(stream::abandon);
        out.disableAutoRequest();
        out.request(STREAM_WINDOW);
        return stream;
    }

    /**
     * A client stream answered once, when it ends: each message's work is prepared as it comes
     * (in order, on the call's thread) and runs at once, up to {@link #STREAM_WINDOW} at a time;
     * when the input ends, {@code finish} gets the results in message order. The first failure
     * in that order ends the call with its status.
     */
    static <Q, T, R> StreamObserver<Q> gathered(StreamObserver<R> observer, Executor executor,
                                                Function<Q, Supplier<T>> each, Function<List<T>, Reply<R>> finish) {
        ServerCallStreamObserver<R> out = (ServerCallStreamObserver<R>) observer;
        Metadata headers = ComputeHeaders.current();
        RequestSpan span = GrpcSpans.current();
        List<CompletableFuture<T>> results = new ArrayList<>();
        CallWork call = new CallWork();
        out.setOnCancelHandler(call::cancel);
        out.disableAutoRequest();
        out.request(STREAM_WINDOW);
        return new StreamObserver<>() {
            @Override
            public void onNext(Q message) {
                CompletableFuture<T> result = call.run(each.apply(message), executor);
                results.add(result);
                result.whenComplete((r, e) -> out.request(1));
            }

            @Override
            public void onError(Throwable t) {
                // The client cancelled: its work finishes in the core and is dropped.
            }

            @Override
            public void onCompleted() {
                CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                        .handleAsync((ignored, failure) -> finish.apply(results.stream().map(CompletableFuture::join).toList()),
                                executor)
                        .whenComplete((reply, failure) -> {
                            if (out.isCancelled()) {
                                return;
                            }
                            if (failure != null) {
                                out.onError(GrpcErrors.status(failure));
                                return;
                            }
                            ComputeHeaders.fill(headers, reply.cost());
                            span.answered(reply.cost());
                            out.onNext(reply.message());
                            out.onCompleted();
                        });
            }
        };
    }

    /** For a call already answered (refused) before its first message: what follows is dropped. */
    static <Q> StreamObserver<Q> ignored() {
        return new StreamObserver<>() {
            @Override
            public void onNext(Q value) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }

    private static final class Ordered<Q, R> implements StreamObserver<Q> {
        private final ServerCallStreamObserver<R> out;
        private final Executor executor;
        private final Function<Q, R> work;
        private final ArrayDeque<CompletableFuture<R>> pending = new ArrayDeque<>();
        private final CallWork call = new CallWork();
        private boolean inputDone;
        private boolean finished;

        Ordered(ServerCallStreamObserver<R> out, Executor executor, Function<Q, R> work) {
            this.out = out;
            this.executor = executor;
            this.work = work;
        }

        @Override
        public void onNext(Q request) {
            CompletableFuture<R> result;
            synchronized (this) {
                if (finished) {
                    return;
                }
                result = call.run(() -> work.apply(request), executor);
                pending.add(result);
            }
            result.whenComplete((r, e) -> answerReady());
        }

        @Override
        public void onError(Throwable t) {
            abandon(); // the client cancelled or the transport failed: nobody to answer
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                inputDone = true;
            }
            answerReady();
        }

        synchronized void abandon() {
            finished = true;
            pending.clear();
            call.cancel();
        }

        /** Sends every answer at the head of the line that is ready; called whenever one gets ready. */
        private synchronized void answerReady() {
            while (!finished && !pending.isEmpty() && pending.peek().isDone()) {
                CompletableFuture<R> head = pending.poll();
                try {
                    R response = head.join();
                    if (!out.isCancelled()) {
                        out.onNext(response);
                        out.request(1);
                    }
                } catch (CompletionException e) {
                    finished = true;
                    pending.clear();
                    out.onError(GrpcErrors.status(e));
                    return;
                }
            }
            if (!finished && inputDone && pending.isEmpty()) {
                finished = true;
                out.onCompleted();
            }
        }
    }
}
