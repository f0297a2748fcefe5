package io.tandem.models;

import java.util.Locale;

/** How a [batch, seq, hidden] output becomes one vector per input. */
public enum Pooling {
    CLS, MEAN, LASTTOKEN;

    public static Pooling parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "")) {
            case "cls" -> CLS;
            case "mean" -> MEAN;
            case "lasttoken" -> LASTTOKEN;
            default -> throw new IllegalArgumentException("unknown pooling '" + text + "' (cls|mean|lasttoken)");
        };
    }

    /** The name TEI's /info uses. */
    public String teiName() {
        return switch (this) {
            case CLS -> "cls";
            case MEAN -> "mean";
            case LASTTOKEN -> "last_token";
        };
    }

    /**
     * Pools row {@code b} of a row-major [batch, seq, hidden] tensor over its first
     * {@code length} tokens (inputs are right-padded).
     */
    public float[] pool(float[] data, int seq, int hidden, int b, int length) {
        float[] out = new float[hidden];
        int rowStart = b * seq * hidden;
        switch (this) {
            case CLS -> System.arraycopy(data, rowStart, out, 0, hidden);
            case LASTTOKEN -> System.arraycopy(data, rowStart + (length - 1) * hidden, out, 0, hidden);
            case MEAN -> {
                double[] sum = new double[hidden];
                for (int t = 0; t < length; t++) {
                    int base = rowStart + t * hidden;
                    for (int h = 0; h < hidden; h++) {
                        sum[h] += data[base + h];
                    }
                }
                for (int h = 0; h < hidden; h++) {
                    out[h] = (float) (sum[h] / length);
                }
            }
        }
        return out;
    }
}
