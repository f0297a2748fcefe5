package io.tandem.models.infer;

/** A classifier's score for one label. */
public record LabelScore(String label, float score) {
}
