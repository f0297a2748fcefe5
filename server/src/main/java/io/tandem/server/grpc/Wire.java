package io.tandem.server.grpc;

import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Request;
import io.tandem.models.infer.Timings;
import io.tandem.server.grpc.tei.Metadata;
import io.tandem.server.grpc.tei.TruncationDirection;

/** The pieces every tei.v1 message shares, to and from the core's types. */
final class Wire {

    private Wire() {
    }

    /**
     * TEI's gRPC passes the message's {@code truncate} as it is: proto3 cannot leave a bool
     * unset, so unlike HTTP it does not fall back to --auto-truncate, and false means refuse
     * inputs that are too long.
     */
    static Request.Truncate truncate(boolean truncate, TruncationDirection direction) {
        return new Request.Truncate(truncate, direction == TruncationDirection.TRUNCATION_DIRECTION_LEFT);
    }

    /** TEI's per-response Metadata: the request's total time and its inputs' mean step times. */
    static Metadata metadata(Answer<?> a) {
        Timings t = a.timings();
        return Metadata.newBuilder()
                .setComputeChars((int) Math.min(a.characters(), 0xFFFF_FFFFL))
                .setComputeTokens((int) Math.min(a.tokens(), 0xFFFF_FFFFL))
                .setTotalTimeNs(t.total().toNanos())
                .setTokenizationTimeNs(t.tokenization().toNanos())
                .setQueueTimeNs(t.queue().toNanos())
                .setInferenceTimeNs(t.inference().toNanos())
                .build();
    }

    /** A proto uint32 (Java's int holds its bits) as a count the core can compare. */
    static int unsigned(int value) {
        return (int) Math.min(Integer.toUnsignedLong(value), Integer.MAX_VALUE);
    }
}
