package io.tandem.ort;

import java.nio.Buffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;

/**
 * One graph input: int64 or int32 values from position 0 of a (preferably direct) buffer, and
 * the shape they have. The buffer is not retained after the run.
 */
public record InputTensor(Buffer data, long[] shape) {

    public InputTensor {
        if (!(data instanceof LongBuffer) && !(data instanceof IntBuffer)) {
            throw new IllegalArgumentException("inputs are int64 or int32, not " + data.getClass().getSimpleName());
        }
    }

    /** How many values the shape covers. */
    public int size() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }
}
