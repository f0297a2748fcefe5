package io.tandem.models;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Renames tensors in an ONNX graph's protobuf, to make the layouts of community exports from
 * Tandem's fixtures: the same weights, so the same numbers, under other output names. Touches
 * only ModelProto.graph → GraphProto.node (NodeProto.input/output), GraphProto.output and
 * value_info (ValueInfoProto.name); every other field is copied byte for byte.
 */
public final class OnnxRewrite {

    private OnnxRewrite() {
    }

    /**
     * @param rename tensor names changed everywhere they appear
     * @param rewire node inputs changed (after renaming): a consumer reads another tensor
     */
    public static byte[] rewrite(byte[] model, Map<String, String> rename, Map<String, String> rewire) {
        return message(model, (number, payload) -> number == 7 ? graph(payload, rename, rewire) : null);
    }

    private static byte[] graph(byte[] graph, Map<String, String> rename, Map<String, String> rewire) {
        return message(graph, (number, payload) -> switch (number) {
            case 1 -> message(payload, (n, p) -> switch (n) {
                case 1 -> {
                    String input = rename.getOrDefault(string(p), string(p));
                    yield rewire.getOrDefault(input, input).getBytes(StandardCharsets.UTF_8);
                }
                case 2 -> rename.getOrDefault(string(p), string(p)).getBytes(StandardCharsets.UTF_8);
                default -> null;
            });
            case 12, 13 -> message(payload, (n, p) -> n == 1
                    ? rename.getOrDefault(string(p), string(p)).getBytes(StandardCharsets.UTF_8) : null);
            default -> null;
        });
    }

    /** For each length-delimited field, the new payload, or null to keep the field as it is. */
    private interface Edit {
        byte[] apply(int number, byte[] payload);
    }

    private static byte[] message(byte[] in, Edit edit) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length + 64);
        int[] pos = {0};
        while (pos[0] < in.length) {
            int start = pos[0];
            long key = varint(in, pos);
            int wire = (int) (key & 7);
            switch (wire) {
                case 0 -> varint(in, pos);
                case 1 -> pos[0] += 8;
                case 5 -> pos[0] += 4;
                case 2 -> {
                    int length = (int) varint(in, pos);
                    byte[] payload = java.util.Arrays.copyOfRange(in, pos[0], pos[0] + length);
                    pos[0] += length;
                    byte[] changed = edit.apply((int) (key >>> 3), payload);
                    if (changed != null) {
                        writeVarint(out, key);
                        writeVarint(out, changed.length);
                        out.writeBytes(changed);
                        continue;
                    }
                }
                default -> throw new IllegalArgumentException("wire type " + wire);
            }
            out.write(in, start, pos[0] - start);
        }
        return out.toByteArray();
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static long varint(byte[] b, int[] pos) {
        long value = 0;
        for (int shift = 0; ; shift += 7) {
            int c = b[pos[0]++] & 0xff;
            value |= (long) (c & 0x7f) << shift;
            if (c < 0x80) {
                return value;
            }
        }
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
