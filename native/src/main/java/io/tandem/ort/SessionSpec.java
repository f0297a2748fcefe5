package io.tandem.ort;

import java.nio.file.Path;

/**
 * Everything needed to open one model's ONNX Runtime session.
 *
 * @param name           the model's name, for logs and errors
 * @param modelFile      the .onnx file (external data is found beside it by ORT)
 * @param device         where to run it
 * @param gpuMemLimit    cap of this session's CUDA arena in bytes, or null for none
 * @param intraOpThreads CPU threads for CPU-EP nodes (0 = ORT's default)
 * @param profilePrefix  where ORT writes its per-node profile (a JSON trace, file name = prefix +
 *                       a timestamp, written when the session closes), or null for none
 */
public record SessionSpec(String name, Path modelFile, DeviceChoice device, Long gpuMemLimit, int intraOpThreads,
                          Path profilePrefix) {

    public SessionSpec(String name, Path modelFile, DeviceChoice device, Long gpuMemLimit, int intraOpThreads) {
        this(name, modelFile, device, gpuMemLimit, intraOpThreads, null);
    }
}
