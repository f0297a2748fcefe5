package io.tandem.models;

import io.tandem.ort.DeviceChoice;

/**
 * How to load a model.
 *
 * @param device         where to run it
 * @param gpuMemLimit    CUDA arena cap in bytes, or null
 * @param pooling        pooling override, or null to follow the model folder
 * @param intraOpThreads CPU threads for ORT (0 = ORT's default)
 */
public record ModelOptions(DeviceChoice device, Long gpuMemLimit, Pooling pooling, int intraOpThreads) {

    public static ModelOptions defaults() {
        return new ModelOptions(DeviceChoice.AUTO, null, null, 0);
    }
}
