package io.tandem.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Timings;

/**
 * TEI's unary Embed, Predict and Rerank answers carry the HTTP API's {@code x-compute-*} and
 * {@code x-*-time} values as response headers too. A handler cannot set headers through the
 * generated stubs, so each call gets an empty set here that the handler fills before its first
 * message, when grpc-java sends the headers.
 */
final class ComputeHeaders implements ServerInterceptor {

    private static final Context.Key<Metadata> HEADERS = Context.key("tandem-response-headers");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        Metadata extra = new Metadata();
        ServerCall<Q, R> withExtra = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendHeaders(Metadata h) {
                h.merge(extra);
                super.sendHeaders(h);
            }
        };
        return Contexts.interceptCall(Context.current().withValue(HEADERS, extra), withExtra, headers, next);
    }

    /** The current call's response headers, to fill before its first message (read on the call's own thread). */
    static Metadata current() {
        Metadata m = HEADERS.get();
        return m != null ? m : new Metadata();
    }

    /** The same values, names and units (milliseconds) as http.HttpIo.sendAnswer. */
    static void fill(Metadata m, Answer<?> a) {
        Timings t = a.timings();
        put(m, "x-compute-type", "gpu+optimized");
        put(m, "x-compute-time", Long.toString(t.total().toMillis()));
        put(m, "x-compute-characters", Long.toString(a.characters()));
        put(m, "x-compute-tokens", Long.toString(a.tokens()));
        put(m, "x-total-time", Long.toString(t.total().toMillis()));
        put(m, "x-tokenization-time", Long.toString(t.tokenization().toMillis()));
        put(m, "x-queue-time", Long.toString(t.queue().toMillis()));
        put(m, "x-inference-time", Long.toString(t.inference().toMillis()));
    }

    private static void put(Metadata m, String name, String value) {
        m.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), value);
    }
}
