package io.tandem.models.pipeline;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaShrinkTest {

    @Test
    void noBatchShrinksAtOnceEvenWithNothingWaiting() throws Exception {
        AtomicInteger shrinks = new AtomicInteger();
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, () -> true, shrinks::incrementAndGet);
        rule.batchStarting(4000);
        assertEquals(0, shrinks.get(), "nothing before the idle time");
    }

    @Test
    void smallBatchesAloneKeepTheMemory() throws Exception {
        AtomicInteger shrinks = new AtomicInteger();
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, () -> true, shrinks::incrementAndGet);
        rule.batchStarting(1000);
        rule.batchDone();
        Thread.sleep(3 * ArenaShrink.IDLE_MS);
        assertEquals(0, shrinks.get());
    }

    @Test
    void whatABurstLeavesIsGivenBackOnceTheModelIsIdle() throws Exception {
        AtomicBoolean idle = new AtomicBoolean(false);
        AtomicInteger shrinks = new AtomicInteger();
        CountDownLatch shrunk = new CountDownLatch(1);
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, idle::get, () -> {
            shrinks.incrementAndGet();
            shrunk.countDown();
        });
        rule.batchStarting(4000); // a large batch inside the burst: memory is owed
        rule.batchDone();
        idle.set(true);
        rule.batchStarting(200); // the burst's small last batch finds the queue empty
        rule.batchDone();
        assertTrue(shrunk.await(5, TimeUnit.SECONDS));
        Thread.sleep(3 * ArenaShrink.IDLE_MS);
        assertEquals(1, shrinks.get(), "once");
        rule.batchStarting(200); // nothing large since: nothing owed
        rule.batchDone();
        Thread.sleep(3 * ArenaShrink.IDLE_MS);
        assertEquals(1, shrinks.get());
    }

    @Test
    void aBatchWithinTheIdleTimeKeepsTheMemoryForTheLoad() throws Exception {
        AtomicBoolean idle = new AtomicBoolean(true);
        AtomicInteger shrinks = new AtomicInteger();
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, idle::get, shrinks::incrementAndGet);
        idle.set(false);
        rule.batchStarting(4000);
        idle.set(true);
        rule.batchDone(); // a gap in the load...
        rule.batchStarting(500); // ...that the next batch ends before the idle time is over
        idle.set(false);
        rule.batchDone();
        idle.set(true); // idle again when the first check comes, but a batch ran since it was planned
        Thread.sleep(3 * ArenaShrink.IDLE_MS);
        assertEquals(0, shrinks.get());
    }
}
