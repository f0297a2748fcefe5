package io.tandem.models;

import io.tandem.ort.DeviceChoice;

import java.nio.file.Path;

/**
 * How to load a model.
 *
 * @param device         where to run it
 * @param gpuMemLimit    CUDA arena cap in bytes, or null
 * @param pooling        pooling override, or null to follow the model folder
 * @param intraOpThreads CPU threads for ORT (0 = ORT's default)
 * @param fullLastLayer  run the graph as it is, even where only the first token of its last layer
 *                       is read (see io.tandem.ort.graph.ClsPruning)
 * @param cudaGraphs     run small batches of a padding-free graph at fixed shapes through a second,
 *                       bound session whose CUDA graphs are captured once per shape and replayed
 *                       (io.tandem.models.pipeline.ShapeBuckets); it holds a second copy of the
 *                       weights. On the CPU the same fixed-shape path runs without graphs.
 * @param profilePrefix  where ONNX Runtime writes the model session's per-node profile when it
 *                       closes (io.tandem.ort.SessionSpec), or null for none: for benchmarks
 */
public record ModelOptions(DeviceChoice device, Long gpuMemLimit, Pooling pooling, int intraOpThreads,
                           boolean fullLastLayer, boolean cudaGraphs, Path profilePrefix) {

    public ModelOptions(DeviceChoice device, Long gpuMemLimit, Pooling pooling, int intraOpThreads) {
        this(device, gpuMemLimit, pooling, intraOpThreads, false, false, null);
    }

    public ModelOptions withFullLastLayer() {
        return new ModelOptions(device, gpuMemLimit, pooling, intraOpThreads, true, cudaGraphs, profilePrefix);
    }

    public ModelOptions withCudaGraphs(boolean on) {
        return new ModelOptions(device, gpuMemLimit, pooling, intraOpThreads, fullLastLayer, on, profilePrefix);
    }

    public ModelOptions withProfile(Path prefix) {
        return new ModelOptions(device, gpuMemLimit, pooling, intraOpThreads, fullLastLayer, cudaGraphs, prefix);
    }

    public static ModelOptions defaults() {
        return new ModelOptions(DeviceChoice.AUTO, null, null, 0);
    }
}
