package io.tandem.ort;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.OptionalLong;

/**
 * Device memory in use, read through NVML (the driver's management library) with Java's FFM
 * API, so Tandem can report what each model took when it loaded and what the process holds.
 * Where NVML is absent (no NVIDIA driver) every read is empty.
 */
public final class GpuMemory {

    private static final int NVML_SUCCESS = 0;
    private static final GpuMemory INSTANCE = open();

    private final MethodHandle handleByIndex;
    private final MethodHandle memoryInfo;

    private GpuMemory(MethodHandle handleByIndex, MethodHandle memoryInfo) {
        this.handleByIndex = handleByIndex;
        this.memoryInfo = memoryInfo;
    }

    public static GpuMemory get() {
        return INSTANCE;
    }

    public boolean available() {
        return handleByIndex != null;
    }

    /** Bytes in use on the device (all processes), or empty without NVML. */
    public OptionalLong used(int device) {
        if (!available()) {
            return OptionalLong.empty();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ValueLayout.ADDRESS);
            if ((int) handleByIndex.invokeExact(device, handle) != NVML_SUCCESS) {
                return OptionalLong.empty();
            }
            // nvmlMemory_t: unsigned long long total, free, used.
            MemorySegment info = arena.allocate(3 * Long.BYTES);
            if ((int) memoryInfo.invokeExact(handle.get(ValueLayout.ADDRESS, 0), info) != NVML_SUCCESS) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(info.get(ValueLayout.JAVA_LONG, 2 * Long.BYTES));
        } catch (Throwable e) {
            return OptionalLong.empty();
        }
    }

    private static GpuMemory open() {
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup nvml = SymbolLookup.libraryLookup("libnvidia-ml.so.1", Arena.global());
            MethodHandle init = linker.downcallHandle(nvml.find("nvmlInit_v2").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            if ((int) init.invokeExact() != NVML_SUCCESS) {
                return new GpuMemory(null, null);
            }
            MethodHandle byIndex = linker.downcallHandle(nvml.find("nvmlDeviceGetHandleByIndex_v2").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            MethodHandle memory = linker.downcallHandle(nvml.find("nvmlDeviceGetMemoryInfo").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            return new GpuMemory(byIndex, memory);
        } catch (Throwable e) {
            // No driver on this host: GPU memory is simply not reported.
            return new GpuMemory(null, null);
        }
    }
}
