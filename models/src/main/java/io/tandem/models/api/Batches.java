package io.tandem.models.api;

import io.tandem.models.tokenize.Tokens;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts a caller's list of inputs into batches under a padded-token budget, inputs of similar
 * length together, so a library caller gets the server's batching without its queue.
 */
final class Batches {

    private Batches() {
    }

    /** Index lists into {@code rows}, each a batch whose longest row × size fits the budget. */
    static List<List<Integer>> plan(List<Tokens> rows, int maxBatchTokens) {
        List<Integer> order = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> rows.get(i).length()));
        List<List<Integer>> batches = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        int longest = 0;
        for (int i : order) {
            int length = rows.get(i).length();
            if (!current.isEmpty() && (long) Math.max(longest, length) * (current.size() + 1) > maxBatchTokens) {
                batches.add(current);
                current = new ArrayList<>();
                longest = 0;
            }
            current.add(i);
            longest = Math.max(longest, length);
        }
        if (!current.isEmpty()) {
            batches.add(current);
        }
        return batches;
    }
}
