package io.tandem.server.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * TEI's request spans over OTLP/gRPC ({@code --otlp-endpoint}, {@code --otlp-service-name}). Off
 * (no SDK, no exporter thread, {@link RequestSpan#NONE} everywhere) unless an endpoint is set.
 * The front doors open a server span per request from the caller's W3C {@code traceparent} /
 * {@code tracestate}; the core knows nothing of tracing: its {@code Answer.timings()} become the
 * child spans afterwards ({@link RequestSpan#answered}).
 */
public final class Tracing implements AutoCloseable {

    /** Tracing off. */
    public static final Tracing OFF = new Tracing(null);

    private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
    private static final TextMapGetter<Function<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Function<String, String> carrier) {
            return List.of("traceparent", "tracestate");
        }

        @Override
        public String get(Function<String, String> carrier, String key) {
            return carrier == null ? null : carrier.apply(key);
        }
    };

    private final SdkTracerProvider provider;
    private final Tracer tracer;

    private Tracing(SdkTracerProvider provider) {
        this.provider = provider;
        this.tracer = provider == null ? null : provider.get("io.tandem.server");
    }

    /**
     * Spans batched and exported to an OTLP/gRPC collector such as {@code http://localhost:4317}.
     * As TEI: every request is sampled (TEI's {@code Sampler::AlwaysOn}), whatever the caller's
     * sampled flag says; the caller's trace id and span id are kept as the parent.
     */
    public static Tracing start(String endpoint, String serviceName) {
        if (endpoint == null) {
            return OFF;
        }
        OtlpGrpcSpanExporter exporter = OtlpGrpcSpanExporter.builder().setEndpoint(endpoint).build();
        SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, serviceName))))
                .setSampler(Sampler.alwaysOn())
                .addSpanProcessor(BatchSpanProcessor.builder(exporter).build())
                .build();
        return new Tracing(provider);
    }

    public boolean enabled() {
        return provider != null;
    }

    /**
     * A server span, started now, whose parent is the caller's {@code traceparent} when it sent a
     * valid one (else it starts a trace).
     *
     * @param header a request header (or gRPC metadata) by lower-case name, null when absent
     */
    public RequestSpan begin(String name, Function<String, String> header, Map<String, String> attributes) {
        if (provider == null) {
            return RequestSpan.NONE;
        }
        Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), header, HEADERS);
        var builder = tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.SERVER);
        attributes.forEach(builder::setAttribute);
        Span span = builder.startSpan();
        return new RequestSpan(tracer, span);
    }

    /** Exports what is still buffered (up to 10 s), then stops the exporter. */
    @Override
    public void close() {
        if (provider != null) {
            provider.shutdown().join(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** TEI's span fields hold Rust's {@code Debug} of a {@code Duration}: 1.5s, 12.34ms, 870µs, 95ns. */
    static String rustDuration(Duration d) {
        long nanos = d.toNanos();
        String unit;
        int scale;
        if (nanos >= 1_000_000_000L) {
            unit = "s";
            scale = 9;
        } else if (nanos >= 1_000_000L) {
            unit = "ms";
            scale = 6;
        } else if (nanos >= 1_000L) {
            unit = "µs";
            scale = 3;
        } else {
            return nanos + "ns";
        }
        return java.math.BigDecimal.valueOf(nanos, scale).stripTrailingZeros().toPlainString() + unit;
    }
}
