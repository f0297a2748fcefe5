package io.tandem.ort.bound;

import java.lang.foreign.MemorySegment;

/**
 * Fixed buffers a bound session's inputs and outputs live in, and the copies in and out of them:
 * CUDA device memory on a GPU, native host memory on the CPU (which is how the binding itself is
 * tested without a GPU).
 */
interface DeviceMemory extends AutoCloseable {

    /** A buffer of {@code bytes} that stays at its address until {@link #close()}. */
    MemorySegment allocate(long bytes);

    /** Copies {@code bytes} from host memory into a buffer of this memory. */
    void copyIn(MemorySegment host, MemorySegment buffer, long bytes);

    /** Copies {@code bytes} from a buffer of this memory into host memory. */
    void copyOut(MemorySegment buffer, MemorySegment host, long bytes);

    /** ORT's name for where the buffers are ("Cuda" or "Cpu"), and the device's id. */
    String ortName();

    int deviceId();

    @Override
    void close();
}
