package io.tandem.models.pipeline;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ArenaShrinkTest {

    @Test
    void aBurstShrinksOnceWhenTheQueueEmptiesWhateverTheLastBatchCosts() {
        AtomicBoolean idle = new AtomicBoolean(false);
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, idle::get);
        List<Boolean> decisions = new ArrayList<>();
        decisions.add(rule.afterBatch(4000)); // a large batch, more waiting
        decisions.add(rule.afterBatch(4000));
        idle.set(true);
        decisions.add(rule.afterBatch(200)); // the burst's small tail finds the queue empty
        decisions.add(rule.afterBatch(200)); // nothing large since: the memory is already given back
        decisions.add(rule.afterBatch(900));
        decisions.add(rule.afterBatch(1001)); // a large batch alone
        assertEquals(List.of(false, false, true, false, false, true), decisions);
    }

    @Test
    void steadyLoadKeepsTheMemory() {
        ArenaShrink rule = new ArenaShrink();
        rule.set(1000, () -> false);
        for (int i = 0; i < 10; i++) {
            assertEquals(false, rule.afterBatch(8000));
        }
    }
}
