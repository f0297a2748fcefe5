package io.tandem.models.tokenize;

/** Whether and from which side over-long inputs are cut, as TEI's {@code truncation_direction}. */
public enum Truncation {
    NONE, RIGHT, LEFT;

    public static Truncation of(boolean truncate, boolean left) {
        if (!truncate) {
            return NONE;
        }
        return left ? LEFT : RIGHT;
    }
}
