package io.tandem.ort;

/**
 * Where a session should run: {@code auto} (CUDA when its libraries load, else CPU),
 * {@code cpu}, or {@code cuda[:N]} (CUDA or fail).
 */
public record DeviceChoice(Kind kind, int deviceId) {

    public enum Kind { AUTO, CPU, CUDA }

    public static final DeviceChoice AUTO = new DeviceChoice(Kind.AUTO, 0);
    public static final DeviceChoice CPU = new DeviceChoice(Kind.CPU, 0);

    public static DeviceChoice parse(String text) {
        String t = text == null ? "auto" : text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("auto")) {
            return AUTO;
        }
        if (t.equals("cpu")) {
            return CPU;
        }
        if (t.equals("cuda")) {
            return new DeviceChoice(Kind.CUDA, 0);
        }
        if (t.startsWith("cuda:")) {
            try {
                int id = Integer.parseInt(t.substring(5));
                if (id >= 0) {
                    return new DeviceChoice(Kind.CUDA, id);
                }
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("expected auto|cpu|cuda[:N], got '" + text + "'");
    }

    public boolean triesCuda() {
        return kind != Kind.CPU;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case AUTO -> "auto";
            case CPU -> "cpu";
            case CUDA -> "cuda:" + deviceId;
        };
    }
}
