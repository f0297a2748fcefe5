package io.tandem.ort.bound;

import io.tandem.ort.InferenceException;
import io.tandem.ort.OrtRuntime;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few functions of ONNX Runtime's C API that its Java API lacks (IOBinding, run config for
 * CUDA graphs), called with Java's FFM API on the library ORT's Java classes already loaded.
 * {@code OrtApi} is a table of function pointers that only ever grows at its end, so a slot's
 * index is fixed for every release (onnxruntime_c_api.cc asserts them); the indices below were
 * counted in the header and checked against those asserts. Every pointer is an opaque handle.
 */
final class OrtApi {

    // OrtApi slots (0-based).
    private static final int GET_ERROR_MESSAGE = 2;
    private static final int CREATE_ENV = 3;
    private static final int CREATE_SESSION = 7;
    private static final int CREATE_SESSION_FROM_ARRAY = 8;
    private static final int CREATE_SESSION_OPTIONS = 10;
    private static final int DISABLE_MEM_PATTERN = 17;
    private static final int SET_GRAPH_OPTIMIZATION_LEVEL = 23;
    private static final int CREATE_RUN_OPTIONS = 39;
    private static final int CREATE_TENSOR_WITH_DATA = 49;
    private static final int CREATE_MEMORY_INFO = 68;
    private static final int RELEASE_STATUS = 93;
    private static final int RELEASE_MEMORY_INFO = 94;
    private static final int RELEASE_SESSION = 95;
    private static final int RELEASE_VALUE = 96;
    private static final int RELEASE_RUN_OPTIONS = 97;
    private static final int RELEASE_SESSION_OPTIONS = 100;
    private static final int ADD_SESSION_CONFIG_ENTRY = 130;
    private static final int RUN_WITH_BINDING = 133;
    private static final int CREATE_IO_BINDING = 134;
    private static final int RELEASE_IO_BINDING = 135;
    private static final int BIND_INPUT = 136;
    private static final int BIND_OUTPUT = 137;
    private static final int ADD_RUN_CONFIG_ENTRY = 165;
    private static final int APPEND_CUDA_V2 = 204;
    private static final int CREATE_CUDA_OPTIONS = 205;
    private static final int UPDATE_CUDA_OPTIONS = 206;
    private static final int RELEASE_CUDA_OPTIONS = 208;
    /** The first API version holding every slot above (CUDA provider options V2). */
    private static final int API_VERSION = 11;

    static final int ORT_ENABLE_ALL = 99;
    static final int LOGGING_ERROR = 3;
    static final int ARENA_ALLOCATOR = 1;
    static final int MEM_TYPE_DEFAULT = 0;

    private static final AddressLayout POINTER = ADDRESS.withTargetLayout(ADDRESS);

    private static volatile OrtApi instance;

    private final Linker linker = Linker.nativeLinker();
    private final MemorySegment table;
    private final MethodHandle getErrorMessage;
    private final MethodHandle createEnv;
    private final MethodHandle createSession;
    private final MethodHandle createSessionFromArray;
    private final MethodHandle createSessionOptions;
    private final MethodHandle disableMemPattern;
    private final MethodHandle setOptimizationLevel;
    private final MethodHandle createRunOptions;
    private final MethodHandle createTensor;
    private final MethodHandle createMemoryInfo;
    private final MethodHandle addSessionConfigEntry;
    private final MethodHandle runWithBinding;
    private final MethodHandle createIoBinding;
    private final MethodHandle bindInput;
    private final MethodHandle bindOutput;
    private final MethodHandle addRunConfigEntry;
    private final MethodHandle appendCuda;
    private final MethodHandle createCudaOptions;
    private final MethodHandle updateCudaOptions;

    private OrtApi(MemorySegment table) {
        this.table = table;
        getErrorMessage = fn(GET_ERROR_MESSAGE, FunctionDescriptor.of(ADDRESS, ADDRESS));
        createEnv = status(CREATE_ENV, JAVA_INT, ADDRESS, ADDRESS);
        createSession = status(CREATE_SESSION, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        createSessionFromArray = status(CREATE_SESSION_FROM_ARRAY, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS);
        createSessionOptions = status(CREATE_SESSION_OPTIONS, ADDRESS);
        disableMemPattern = status(DISABLE_MEM_PATTERN, ADDRESS);
        setOptimizationLevel = status(SET_GRAPH_OPTIMIZATION_LEVEL, ADDRESS, JAVA_INT);
        createRunOptions = status(CREATE_RUN_OPTIONS, ADDRESS);
        createTensor = status(CREATE_TENSOR_WITH_DATA, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS);
        createMemoryInfo = status(CREATE_MEMORY_INFO, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
        addSessionConfigEntry = status(ADD_SESSION_CONFIG_ENTRY, ADDRESS, ADDRESS, ADDRESS);
        runWithBinding = status(RUN_WITH_BINDING, ADDRESS, ADDRESS, ADDRESS);
        createIoBinding = status(CREATE_IO_BINDING, ADDRESS, ADDRESS);
        bindInput = status(BIND_INPUT, ADDRESS, ADDRESS, ADDRESS);
        bindOutput = status(BIND_OUTPUT, ADDRESS, ADDRESS, ADDRESS);
        addRunConfigEntry = status(ADD_RUN_CONFIG_ENTRY, ADDRESS, ADDRESS, ADDRESS);
        appendCuda = status(APPEND_CUDA_V2, ADDRESS, ADDRESS);
        createCudaOptions = status(CREATE_CUDA_OPTIONS, ADDRESS);
        updateCudaOptions = status(UPDATE_CUDA_OPTIONS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
    }

    /** The table of the ORT library that ORT's Java API loaded (it is loaded first if need be). */
    static OrtApi get() {
        OrtApi api = instance;
        if (api == null) {
            synchronized (OrtApi.class) {
                if (instance == null) {
                    instance = load();
                }
                api = instance;
            }
        }
        return api;
    }

    private static OrtApi load() {
        OrtRuntime.env();
        Linker linker = Linker.nativeLinker();
        // ORT's Java classes load libonnxruntime.so with System.load, from the class loader this class shares.
        MemorySegment getApiBase = SymbolLookup.loaderLookup().find("OrtGetApiBase")
                .orElseThrow(() -> new InferenceException("ONNX Runtime's C API (OrtGetApiBase) is not loaded"));
        try {
            MemorySegment base = (MemorySegment) linker.downcallHandle(getApiBase, FunctionDescriptor.of(ADDRESS))
                    .invokeExact();
            base = base.reinterpret(2 * ADDRESS.byteSize());
            MethodHandle getApi = linker.downcallHandle(base.get(ADDRESS, 0), FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MemorySegment table = (MemorySegment) getApi.invokeExact(API_VERSION);
            if (table.equals(MemorySegment.NULL)) {
                throw new InferenceException("ONNX Runtime does not offer C API version " + API_VERSION);
            }
            // A bound for the segment only: the slots read (at most 208) are in every release since 1.11.
            return new OrtApi(table.reinterpret(512 * ADDRESS.byteSize()));
        } catch (InferenceException e) {
            throw e;
        } catch (Throwable e) {
            throw new InferenceException("ONNX Runtime's C API: " + e, e);
        }
    }

    private MethodHandle fn(int slot, FunctionDescriptor descriptor) {
        return linker.downcallHandle(table.getAtIndex(ADDRESS, slot), descriptor);
    }

    /** A function returning an OrtStatus* (NULL on success). */
    private MethodHandle status(int slot, ValueLayout... args) {
        return fn(slot, FunctionDescriptor.of(ADDRESS, args));
    }

    /** Releases a handle with one of OrtApi's ReleaseX functions (void(X*)). */
    void release(int slot, MemorySegment handle) {
        if (handle == null || handle.equals(MemorySegment.NULL)) {
            return;
        }
        try {
            fn(slot, FunctionDescriptor.ofVoid(ADDRESS)).invokeExact(handle);
        } catch (Throwable e) {
            throw new InferenceException("ONNX Runtime release: " + e, e);
        }
    }

    void releaseValue(MemorySegment value) {
        release(RELEASE_VALUE, value);
    }

    void releaseSession(MemorySegment session) {
        release(RELEASE_SESSION, session);
    }

    void releaseIoBinding(MemorySegment binding) {
        release(RELEASE_IO_BINDING, binding);
    }

    void releaseRunOptions(MemorySegment options) {
        release(RELEASE_RUN_OPTIONS, options);
    }

    void releaseMemoryInfo(MemorySegment info) {
        release(RELEASE_MEMORY_INFO, info);
    }

    /** Throws ORT's message where a call returned a status. */
    private void check(MemorySegment s, String what) {
        if (s.equals(MemorySegment.NULL)) {
            return;
        }
        String message;
        try {
            MemorySegment text = (MemorySegment) getErrorMessage.invokeExact(s);
            message = text.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (Throwable e) {
            message = "(no message: " + e + ")";
        }
        release(RELEASE_STATUS, s);
        throw new InferenceException(what + ": " + message);
    }

    /** A call into ORT with a confined arena for its arguments; Throwable because invokeExact throws it. */
    @FunctionalInterface
    private interface Call<T> {
        T in(Arena arena) throws Throwable;
    }

    /** Runs a call, ORT's failures as they are (with their message), any other as an InferenceException. */
    private static <T> T call(String what, Call<T> body) {
        try (Arena arena = Arena.ofConfined()) {
            return body.in(arena);
        } catch (InferenceException e) {
            throw e;
        } catch (Throwable e) {
            throw new InferenceException(what + ": " + e, e);
        }
    }

    /** The handle a Create function wrote into its last (OrtX**) argument. */
    private static MemorySegment created(MemorySegment out) {
        return out.get(ADDRESS, 0);
    }

    MemorySegment env() {
        return call("CreateEnv", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            // ORT keeps one environment per process: this returns the one ORT's Java API made.
            check((MemorySegment) createEnv.invokeExact(LOGGING_ERROR, arena.allocateFrom("tandem"), out), "CreateEnv");
            return created(out);
        });
    }

    /**
     * Session options as SessionFactory sets them for the Java sessions (all graph optimisations,
     * no memory pattern, config entries), plus the CUDA provider with {@code cuda} options when
     * that map is not null.
     */
    MemorySegment sessionOptions(Map<String, String> config, Map<String, String> cuda, int cudaDevice) {
        return call("session options", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            check((MemorySegment) createSessionOptions.invokeExact(out), "CreateSessionOptions");
            MemorySegment options = created(out);
            try {
                check((MemorySegment) setOptimizationLevel.invokeExact(options, ORT_ENABLE_ALL),
                        "SetSessionGraphOptimizationLevel");
                check((MemorySegment) disableMemPattern.invokeExact(options), "DisableMemPattern");
                for (Map.Entry<String, String> e : config.entrySet()) {
                    check((MemorySegment) addSessionConfigEntry.invokeExact(options, arena.allocateFrom(e.getKey()),
                            arena.allocateFrom(e.getValue())), "AddSessionConfigEntry " + e.getKey());
                }
                if (cuda != null) {
                    appendCuda(arena, options, cuda, cudaDevice);
                }
                return options;
            } catch (Throwable e) {
                release(RELEASE_SESSION_OPTIONS, options);
                throw e;
            }
        });
    }

    private void appendCuda(Arena arena, MemorySegment options, Map<String, String> cuda, int device) throws Throwable {
        MemorySegment out = arena.allocate(POINTER);
        check((MemorySegment) createCudaOptions.invokeExact(out), "CreateCUDAProviderOptions");
        MemorySegment cudaOptions = created(out);
        try {
            int n = cuda.size() + 1;
            MemorySegment keys = arena.allocate(ADDRESS, n);
            MemorySegment values = arena.allocate(ADDRESS, n);
            keys.setAtIndex(ADDRESS, 0, arena.allocateFrom("device_id"));
            values.setAtIndex(ADDRESS, 0, arena.allocateFrom(Integer.toString(device)));
            int i = 1;
            for (Map.Entry<String, String> e : cuda.entrySet()) {
                keys.setAtIndex(ADDRESS, i, arena.allocateFrom(e.getKey()));
                values.setAtIndex(ADDRESS, i++, arena.allocateFrom(e.getValue()));
            }
            check((MemorySegment) updateCudaOptions.invokeExact(cudaOptions, keys, values, (long) n),
                    "UpdateCUDAProviderOptions");
            check((MemorySegment) appendCuda.invokeExact(options, cudaOptions),
                    "SessionOptionsAppendExecutionProvider_CUDA_V2");
        } finally {
            release(RELEASE_CUDA_OPTIONS, cudaOptions);
        }
    }

    void releaseSessionOptions(MemorySegment options) {
        release(RELEASE_SESSION_OPTIONS, options);
    }

    /** A session of {@code graph} (a serialised model), or of the file where graph is null. */
    MemorySegment session(MemorySegment env, byte[] graph, Path file, MemorySegment options) {
        return call("CreateSession", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            if (graph != null) {
                MemorySegment data = arena.allocate(graph.length);
                MemorySegment.copy(graph, 0, data, ValueLayout.JAVA_BYTE, 0, graph.length);
                check((MemorySegment) createSessionFromArray.invokeExact(env, data, (long) graph.length, options, out),
                        "CreateSessionFromArray");
            } else {
                check((MemorySegment) createSession.invokeExact(env, arena.allocateFrom(file.toString()), options, out),
                        "CreateSession");
            }
            return created(out);
        });
    }

    MemorySegment memoryInfo(String name, int device) {
        return call("CreateMemoryInfo", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            check((MemorySegment) createMemoryInfo.invokeExact(arena.allocateFrom(name), ARENA_ALLOCATOR, device,
                    MEM_TYPE_DEFAULT, out), "CreateMemoryInfo");
            return created(out);
        });
    }

    /** An OrtValue over {@code data} (not copied, not owned) with this shape and element type. */
    MemorySegment tensor(MemorySegment memoryInfo, MemorySegment data, long bytes, long[] shape, int elementType) {
        return call("CreateTensorWithDataAsOrtValue", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            MemorySegment dims = arena.allocateFrom(JAVA_LONG, shape);
            check((MemorySegment) createTensor.invokeExact(memoryInfo, data, bytes, dims, (long) shape.length,
                    elementType, out), "CreateTensorWithDataAsOrtValue");
            return created(out);
        });
    }

    MemorySegment ioBinding(MemorySegment session) {
        return call("CreateIoBinding", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            check((MemorySegment) createIoBinding.invokeExact(session, out), "CreateIoBinding");
            return created(out);
        });
    }

    void bind(MemorySegment binding, String name, MemorySegment value, boolean input) {
        call("bind " + name, arena -> {
            MemorySegment n = arena.allocateFrom(name);
            if (input) {
                check((MemorySegment) bindInput.invokeExact(binding, n, value), "BindInput " + name);
            } else {
                check((MemorySegment) bindOutput.invokeExact(binding, n, value), "BindOutput " + name);
            }
            return null;
        });
    }

    MemorySegment runOptions(Map<String, String> config) {
        return call("CreateRunOptions", arena -> {
            MemorySegment out = arena.allocate(POINTER);
            check((MemorySegment) createRunOptions.invokeExact(out), "CreateRunOptions");
            MemorySegment options = created(out);
            for (Map.Entry<String, String> e : config.entrySet()) {
                check((MemorySegment) addRunConfigEntry.invokeExact(options, arena.allocateFrom(e.getKey()),
                        arena.allocateFrom(e.getValue())), "AddRunConfigEntry " + e.getKey());
            }
            return options;
        });
    }

    void runWithBinding(MemorySegment session, MemorySegment runOptions, MemorySegment binding) {
        call("RunWithBinding", arena -> {
            check((MemorySegment) runWithBinding.invokeExact(session, runOptions, binding), "RunWithBinding");
            return null;
        });
    }
}
