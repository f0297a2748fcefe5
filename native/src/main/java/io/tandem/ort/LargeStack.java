package io.tandem.ort;

import java.util.function.Supplier;

/**
 * Runs native-heavy work on a platform thread with a stack of a chosen size and waits for it.
 * Parts of ONNX Runtime recurse deeply (its telemetry regex, the graph optimizer), and on the
 * JVM's default 1 MiB thread stack they crash the whole process instead of failing.
 */
public final class LargeStack {

    private LargeStack() {
    }

    /**
     * The work's result; its exception or error is rethrown as it is. The wait is not cut short
     * by an interrupt (the work would go on regardless); the interrupt status is kept.
     */
    public static <T> T call(String threadName, long stackBytes, Supplier<T> work) {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread thread = Thread.ofPlatform().name(threadName).stackSize(stackBytes).start(() -> {
            try {
                result[0] = work.get();
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }
}
