package io.tandem.models;

import io.tandem.ort.DeviceChoice;

/**
 * How to load a model.
 *
 * @param device         where to run it
 * @param gpuMemLimit    CUDA arena cap in bytes, or null
 * @param pooling        pooling override, or null to follow the model folder
 * @param intraOpThreads CPU threads for ORT (0 = ORT's default)
 * @param fullLastLayer  run the graph as it is, even where only the first token of its last layer
 *                       is read (see io.tandem.ort.graph.ClsPruning)
 */
public record ModelOptions(DeviceChoice device, Long gpuMemLimit, Pooling pooling, int intraOpThreads,
                           boolean fullLastLayer) {

    public ModelOptions(DeviceChoice device, Long gpuMemLimit, Pooling pooling, int intraOpThreads) {
        this(device, gpuMemLimit, pooling, intraOpThreads, false);
    }

    public ModelOptions withFullLastLayer() {
        return new ModelOptions(device, gpuMemLimit, pooling, intraOpThreads, true);
    }

    public static ModelOptions defaults() {
        return new ModelOptions(DeviceChoice.AUTO, null, null, 0);
    }
}
