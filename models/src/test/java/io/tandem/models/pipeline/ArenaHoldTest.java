package io.tandem.models.pipeline;

import io.tandem.models.Fixtures;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batch that holds a GPU arena at the size of the largest batch that owes no shrink. */
class ArenaHoldTest {

    @Test
    void theHoldingBatchCostsTheThresholdAndNoMore() {
        try (Model model = Fixtures.load("m3-tiny", null)) {
            int longest = Math.min(model.descriptor().maxInputLength(), 512);
            List<Tokens> rows = model.holdingRows(16_384);
            assertEquals(16_384 / longest, rows.size());
            assertTrue(rows.stream().allMatch(r -> r.length() == longest));
            PreparedBatch prepared = model.prepare(rows);
            long cost = prepared.batch().cost();
            prepared.discard();
            assertTrue(cost <= 16_384, "a cost over the threshold would owe a shrink: " + cost);
            assertTrue(cost > 16_384 - longest, "and no less than a row under it: " + cost);

            List<Tokens> small = model.holdingRows(100);
            assertEquals(1, small.size());
            assertEquals(Math.min(100, longest), small.get(0).length());
            Tokens row = small.get(0);
            long[] framed = model.tokenizer().encode("arena", Truncation.RIGHT).ids();
            assertEquals(framed[0], row.ids()[0], "opens as the tokenizer opens a text");
            assertEquals(framed[framed.length - 1], row.ids()[row.length() - 1], "and closes as it does");
        }
    }
}
