package io.tandem.models.infer;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class PriorityGateTest {

    @Test
    void withoutRerankTrafficTheEmbedderKeepsItsFullBatch() {
        PriorityGate gate = new PriorityGate(10, TimeUnit.SECONDS, 4096, 1, TimeUnit.HOURS);
        assertEquals(32768, gate.admit(32768));
    }

    @Test
    void theEmbedderWaitsForPendingRerankInputsThenRunsSmallBatches() throws Exception {
        PriorityGate gate = new PriorityGate(1, TimeUnit.HOURS, 4096, 1, TimeUnit.HOURS);
        gate.arrived(2);
        CompletableFuture<Integer> admitted = CompletableFuture.supplyAsync(() -> gate.admit(32768));
        gate.left(1);
        // One reranker input is still pending: the embedder must still be waiting.
        assertFalse(waitFor(admitted, 300));
        gate.left(1);
        assertEquals(4096, admitted.get(10, TimeUnit.SECONDS));
    }

    @Test
    void theWaitIsBoundedSoTheEmbedderIsNeverStarved() {
        PriorityGate gate = new PriorityGate(0, TimeUnit.MILLISECONDS, 4096, 1, TimeUnit.HOURS);
        gate.arrived(1);
        assertEquals(4096, gate.admit(32768));
    }

    @Test
    void smallBatchesEndWhenRerankTrafficIsNoLongerRecent() {
        PriorityGate gate = new PriorityGate(1, TimeUnit.SECONDS, 4096, 0, TimeUnit.NANOSECONDS);
        gate.arrived(1);
        gate.left(1);
        assertEquals(32768, gate.admit(32768));
    }

    private static boolean waitFor(CompletableFuture<?> f, long millis) {
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
