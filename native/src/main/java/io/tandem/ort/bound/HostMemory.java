package io.tandem.ort.bound;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Native host memory: a bound session on the CPU. */
final class HostMemory implements DeviceMemory {

    private final Arena arena = Arena.ofShared();

    @Override
    public MemorySegment allocate(long bytes) {
        return arena.allocate(Math.max(bytes, 1), 64);
    }

    @Override
    public void copyIn(MemorySegment host, MemorySegment buffer, long bytes) {
        MemorySegment.copy(host, 0, buffer, 0, bytes);
    }

    @Override
    public void copyOut(MemorySegment buffer, MemorySegment host, long bytes) {
        MemorySegment.copy(buffer, 0, host, 0, bytes);
    }

    @Override
    public String ortName() {
        return "Cpu";
    }

    @Override
    public int deviceId() {
        return 0;
    }

    @Override
    public void close() {
        arena.close();
    }
}
