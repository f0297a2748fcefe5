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
 */
public record SessionSpec(String name, Path modelFile, DeviceChoice device, Long gpuMemLimit, int intraOpThreads) {
}
