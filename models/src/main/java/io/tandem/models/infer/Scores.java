package io.tandem.models.infer;

import io.tandem.models.pipeline.VectorMath;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Classifier heads' last step: scores from logits, and TEI's order of them. */
final class Scores {

    private Scores() {
    }

    /** TEI's scores per label, best first: softmax for several labels, sigmoid for one; raw logits if asked. */
    static List<LabelScore> labelled(float[] logits, Map<Integer, String> labels, boolean raw) {
        float[] scores = logits.clone();
        if (!raw && scores.length == 1) {
            scores[0] = VectorMath.sigmoid(scores[0]);
        } else if (!raw) {
            float max = Float.NEGATIVE_INFINITY;
            for (float s : scores) {
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) Math.exp(scores[i] - max);
                sum += scores[i];
            }
            for (int i = 0; i < scores.length; i++) {
                scores[i] = (float) (scores[i] / sum);
            }
        }
        List<LabelScore> out = new ArrayList<>(scores.length);
        for (int i : descending(scores)) {
            out.add(new LabelScore(labels.getOrDefault(i, "LABEL_" + i), scores[i]));
        }
        return out;
    }

    /** Texts by score, best first. */
    static List<Rank> ranked(float[] scores) {
        List<Rank> ranks = new ArrayList<>(scores.length);
        for (int i : descending(scores)) {
            ranks.add(new Rank(i, scores[i]));
        }
        return ranks;
    }

    /**
     * Indices by score, highest first; a NaN score is a backend failure. TEI sorts ascending (stable) and reverses, so among
     * equal scores the higher index comes first.
     */
    static List<Integer> descending(float[] scores) {
        for (float s : scores) {
            if (Float.isNaN(s)) {
                throw new InferenceError(InferenceError.Kind.BACKEND, "score is NaN");
            }
        }
        List<Integer> order = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparingInt(i -> i).reversed());
        return order;
    }
}
