package io.tandem.ort;

/** One output of a run, copied off ORT's memory as fp32 (fp16 outputs are widened). */
public record OutputTensor(long[] shape, float[] data) {

    public int dim(int i) {
        return (int) shape[i];
    }
}
