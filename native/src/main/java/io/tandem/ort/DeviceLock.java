package io.tandem.ort;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Keeps other CUDA work off the device while a CUDA graph is captured. ORT captures in CUDA's
 * global capture mode, in which a CUDA call from any other thread of the process (a run of the
 * other model, a cudaMalloc, a synchronising copy) fails the capture and itself: on the H200
 * the reranker's capture during /embed traffic failed both models' runs ("operation not
 * permitted when stream is capturing"), and a request got a 424. Captures hold this lock
 * alone; every other CUDA session run or creation shares it, so they only ever wait for a
 * capture (a few runs of one shape, once per shape).
 */
public final class DeviceLock {

    private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

    /** Work on the device, which may throw what ORT's Java API throws. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    private DeviceLock() {
    }

    /** Runs CUDA work that may overlap other CUDA work, but not a capture. */
    public static <T, E extends Exception> T shared(Work<T, E> work) throws E {
        LOCK.readLock().lock();
        try {
            return work.run();
        } finally {
            LOCK.readLock().unlock();
        }
    }

    /** Runs a capture with no other CUDA work in the process. */
    public static <T, E extends Exception> T alone(Work<T, E> work) throws E {
        LOCK.writeLock().lock();
        try {
            return work.run();
        } finally {
            LOCK.writeLock().unlock();
        }
    }
}
