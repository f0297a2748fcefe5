package io.tandem.ort.bound;

import io.tandem.ort.InferenceException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * CUDA device memory through the CUDA runtime that ORT's CUDA provider already loaded
 * (libcudart.so.12), called with Java's FFM API.
 */
final class CudaMemory implements DeviceMemory {

    private static final int HOST_TO_DEVICE = 1;
    private static final int DEVICE_TO_HOST = 2;

    private final int device;
    private final MethodHandle setDevice;
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final MethodHandle memcpy;
    private final List<MemorySegment> buffers = new ArrayList<>();

    CudaMemory(int device) {
        this.device = device;
        Linker linker = Linker.nativeLinker();
        SymbolLookup cudart = SymbolLookup.libraryLookup("libcudart.so.12", Arena.global());
        setDevice = linker.downcallHandle(cudart.find("cudaSetDevice").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        malloc = linker.downcallHandle(cudart.find("cudaMalloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        free = linker.downcallHandle(cudart.find("cudaFree").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        memcpy = linker.downcallHandle(cudart.find("cudaMemcpy").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    }

    @Override
    public synchronized MemorySegment allocate(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check((int) setDevice.invokeExact(device), "cudaSetDevice");
            check((int) malloc.invokeExact(out, Math.max(bytes, 1L)), "cudaMalloc");
            MemorySegment buffer = out.get(ValueLayout.ADDRESS, 0).reinterpret(Math.max(bytes, 1L));
            buffers.add(buffer);
            return buffer;
        } catch (InferenceException e) {
            throw e;
        } catch (Throwable e) {
            throw new InferenceException("cudaMalloc: " + e, e);
        }
    }

    @Override
    public void copyIn(MemorySegment host, MemorySegment buffer, long bytes) {
        copy(buffer, host, bytes, HOST_TO_DEVICE);
    }

    @Override
    public void copyOut(MemorySegment buffer, MemorySegment host, long bytes) {
        copy(host, buffer, bytes, DEVICE_TO_HOST);
    }

    private void copy(MemorySegment to, MemorySegment from, long bytes, int kind) {
        try {
            check((int) memcpy.invokeExact(to, from, bytes, kind), "cudaMemcpy");
        } catch (InferenceException e) {
            throw e;
        } catch (Throwable e) {
            throw new InferenceException("cudaMemcpy: " + e, e);
        }
    }

    private static void check(int error, String call) {
        if (error != 0) {
            throw new InferenceException(call + " failed with CUDA error " + error);
        }
    }

    @Override
    public String ortName() {
        return "Cuda";
    }

    @Override
    public int deviceId() {
        return device;
    }

    @Override
    public synchronized void close() {
        for (MemorySegment buffer : buffers) {
            try {
                int ignored = (int) free.invokeExact(buffer);
            } catch (Throwable e) {
                // Freed at process exit anyway.
            }
        }
        buffers.clear();
    }
}
