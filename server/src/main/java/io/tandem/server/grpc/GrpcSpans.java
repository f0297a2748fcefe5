package io.tandem.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.tandem.server.trace.RequestSpan;
import io.tandem.server.trace.Tracing;

import java.util.Map;

/**
 * A server span per call when tracing is on, its parent the caller's W3C {@code traceparent} /
 * {@code tracestate} metadata; it ends when the call closes, with its status. The unary and
 * client-streaming calls hand it the core's answer (see {@link Calls}); a bidirectional stream's
 * span has no children, its messages being answered one by one.
 */
final class GrpcSpans implements ServerInterceptor {

    private static final Context.Key<RequestSpan> SPAN = Context.key("tandem-request-span");

    private final Tracing tracing;

    GrpcSpans(Tracing tracing) {
        this.tracing = tracing;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        var method = call.getMethodDescriptor();
        RequestSpan span = tracing.begin(method.getFullMethodName(),
                name -> headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER)),
                Map.of("rpc.system", "grpc", "rpc.service", String.valueOf(method.getServiceName()),
                        "rpc.method", String.valueOf(method.getBareMethodName())));
        ServerCall<Q, R> ending = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                span.attribute("rpc.grpc.status_code", status.getCode().value());
                span.end(serverFault(status.getCode()) ? status.getCode() + ": " + status.getDescription() : null);
                super.close(status, trailers);
            }
        };
        return Contexts.interceptCall(Context.current().withValue(SPAN, span), ending, headers, next);
    }

    /** OpenTelemetry's gRPC server rule: these codes are the server's failures, the others the client's. */
    private static boolean serverFault(Status.Code code) {
        return switch (code) {
            case UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS -> true;
            default -> false;
        };
    }

    /** The current call's span (read on the call's own thread), or {@link RequestSpan#NONE}. */
    static RequestSpan current() {
        RequestSpan s = SPAN.get();
        return s != null ? s : RequestSpan.NONE;
    }
}
