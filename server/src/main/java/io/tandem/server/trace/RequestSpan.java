package io.tandem.server.trace;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Timings;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One request's server span. The front door that served it hands over the core's {@link Answer}
 * and the status it answered with; nothing here is on the request's path when tracing is off.
 */
public final class RequestSpan {

    /** Tracing off: every call does nothing. */
    public static final RequestSpan NONE = new RequestSpan(null, null);

    private final Tracer tracer;
    private final Span span;

    RequestSpan(Tracer tracer, Span span) {
        this.tracer = tracer;
        this.span = span;
    }

    /**
     * TEI's span fields (compute_chars, compute_tokens, total_time, tokenization_time, queue_time,
     * inference_time), the number of inputs, and three children laid out one after the other
     * from the core's start: {@code tokenization}, {@code queue} and {@code inference}. Their
     * lengths are the inputs' means, as TEI's {@code x-*-time} headers (the inputs of one request
     * run side by side, so there is no single sequence to draw).
     */
    public void answered(Answer<?> answer) {
        if (span == null || answer == null) {
            return;
        }
        Timings t = answer.timings();
        span.setAttribute("compute_chars", answer.characters());
        span.setAttribute("compute_tokens", answer.tokens());
        span.setAttribute("total_time", Tracing.rustDuration(t.total()));
        span.setAttribute("tokenization_time", Tracing.rustDuration(t.tokenization()));
        span.setAttribute("queue_time", Tracing.rustDuration(t.queue()));
        span.setAttribute("inference_time", Tracing.rustDuration(t.inference()));
        if (answer.value() instanceof List<?> values) {
            span.setAttribute("inputs", values.size());
        }
        long end = epochNanos(Instant.now());
        long at = end - t.total().toNanos();
        Context parent = Context.root().with(span);
        at = child(parent, "tokenization", at, t.tokenization(), end);
        at = child(parent, "queue", at, t.queue(), end);
        child(parent, "inference", at, t.inference(), end);
    }

    private long child(Context parent, String name, long start, Duration length, long latest) {
        long end = Math.min(start + length.toNanos(), latest);
        tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.INTERNAL)
                .setStartTimestamp(start, TimeUnit.NANOSECONDS).startSpan()
                .end(end, TimeUnit.NANOSECONDS);
        return end;
    }

    public void attribute(String key, long value) {
        if (span != null) {
            span.setAttribute(key, value);
        }
    }

    /** Ends the span; {@code error} non-null marks it failed with that description. */
    public void end(String error) {
        if (span == null) {
            return;
        }
        if (error != null) {
            span.setStatus(StatusCode.ERROR, error);
        }
        span.end();
    }

    private static long epochNanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
