package io.tandem.ort.graph;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Protocol Buffers' wire format, as far as an ONNX graph rewrite needs it: a message is read as
 * its list of fields, each kept as the bytes it came in (weights are never copied), and written
 * back from such fields and new ones. Not protobuf-java: its runtime calls sun.misc.Unsafe, which
 * JDK 25 warns about on the console of every process that loads it (protocolbuffers/protobuf#20760,
 * open), and the rewrite reads a dozen fields of a few messages.
 */
final class Wire {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int BYTES = 2;
    static final int FIXED32 = 5;

    /** One field of a message: its number, wire type, and value (a varint, or a slice of buf). */
    record Field(int number, int type, long varint, byte[] buf, int offset, int length) {

        String string() {
            return new String(buf, offset, length, StandardCharsets.UTF_8);
        }

        /** The fields of the message this length-delimited field holds. */
        List<Field> message() {
            return parse(buf, offset, length);
        }

        static Field varint(int number, long value) {
            return new Field(number, VARINT, value, null, 0, 0);
        }

        static Field bytes(int number, byte[] value) {
            return new Field(number, BYTES, 0, value, 0, value.length);
        }

        static Field string(int number, String value) {
            return bytes(number, value.getBytes(StandardCharsets.UTF_8));
        }

        static Field message(int number, List<Field> fields) {
            return bytes(number, write(fields));
        }
    }

    private Wire() {
    }

    static List<Field> parse(byte[] buf, int offset, int length) {
        List<Field> fields = new ArrayList<>();
        int[] at = {offset};
        int end = offset + length;
        while (at[0] < end) {
            long key = varint(buf, at, end);
            int number = (int) (key >>> 3);
            int type = (int) (key & 7);
            switch (type) {
                case VARINT -> fields.add(new Field(number, type, varint(buf, at, end), null, 0, 0));
                case FIXED64, FIXED32 -> {
                    int size = type == FIXED64 ? 8 : 4;
                    check(at[0] + size <= end);
                    fields.add(new Field(number, type, 0, buf, at[0], size));
                    at[0] += size;
                }
                case BYTES -> {
                    long size = varint(buf, at, end);
                    check(size >= 0 && at[0] + size <= end);
                    fields.add(new Field(number, type, 0, buf, at[0], (int) size));
                    at[0] += (int) size;
                }
                default -> throw new IllegalArgumentException("not a protobuf message (wire type " + type + ")");
            }
        }
        return fields;
    }

    static byte[] write(List<Field> fields) {
        Out out = new Out(size(fields));
        fields.forEach(out::field);
        return out.done();
    }

    /**
     * {@code outer} with its field {@code number} (a message) made of {@code inner}, written in
     * one array of the exact size: a model's graph holds its weights, copied once.
     */
    static byte[] write(List<Field> outer, int number, List<Field> inner) {
        long innerSize = size(inner);
        long total = 0;
        for (Field f : outer) {
            total += f.number() == number ? keySize(f) + varintSize(innerSize) + innerSize : size(f);
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the rewritten model is over 2 GiB");
        }
        Out out = new Out(total);
        for (Field f : outer) {
            if (f.number() == number) {
                out.varint(((long) number << 3) | BYTES);
                out.varint(innerSize);
                inner.forEach(out::field);
            } else {
                out.field(f);
            }
        }
        return out.done();
    }

    private static long size(List<Field> fields) {
        long n = 0;
        for (Field f : fields) {
            n += size(f);
        }
        return n;
    }

    private static long size(Field f) {
        return keySize(f) + switch (f.type()) {
            case VARINT -> varintSize(f.varint());
            case BYTES -> varintSize(f.length()) + f.length();
            default -> f.length();
        };
    }

    private static int keySize(Field f) {
        return varintSize(((long) f.number() << 3) | f.type());
    }

    private static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** The first field of this number, or null. */
    static Field first(List<Field> fields, int number) {
        for (Field f : fields) {
            if (f.number() == number) {
                return f;
            }
        }
        return null;
    }

    static String string(List<Field> fields, int number) {
        Field f = first(fields, number);
        return f == null ? "" : f.string();
    }

    static long varint(List<Field> fields, int number) {
        Field f = first(fields, number);
        return f == null ? 0 : f.varint();
    }

    static List<String> strings(List<Field> fields, int number) {
        List<String> out = new ArrayList<>();
        for (Field f : fields) {
            if (f.number() == number) {
                out.add(f.string());
            }
        }
        return out;
    }

    /** A repeated integer field's values, packed or not. */
    static List<Long> varints(List<Field> fields, int number) {
        List<Long> out = new ArrayList<>();
        for (Field f : fields) {
            if (f.number() != number) {
                continue;
            }
            if (f.type() == VARINT) {
                out.add(f.varint());
            } else if (f.type() == BYTES) {
                int[] at = {f.offset()};
                while (at[0] < f.offset() + f.length()) {
                    out.add(varint(f.buf(), at, f.offset() + f.length()));
                }
            }
        }
        return out;
    }

    private static long varint(byte[] buf, int[] at, int end) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            check(at[0] < end);
            byte b = buf[at[0]++];
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw new IllegalArgumentException("not a protobuf message (varint too long)");
    }

    private static void check(boolean ok) {
        if (!ok) {
            throw new IllegalArgumentException("not a protobuf message (truncated)");
        }
    }

    /** An array of a size known beforehand, filled with fields. */
    private static final class Out {

        private final byte[] buf;
        private int at;

        Out(long size) {
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("message over 2 GiB");
            }
            buf = new byte[(int) size];
        }

        void field(Field f) {
            varint(((long) f.number() << 3) | f.type());
            switch (f.type()) {
                case VARINT -> varint(f.varint());
                case BYTES -> {
                    varint(f.length());
                    bytes(f);
                }
                default -> bytes(f);
            }
        }

        private void bytes(Field f) {
            System.arraycopy(f.buf(), f.offset(), buf, at, f.length());
            at += f.length();
        }

        void varint(long v) {
            while ((v & ~0x7fL) != 0) {
                buf[at++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            buf[at++] = (byte) v;
        }

        byte[] done() {
            if (at != buf.length) {
                throw new IllegalStateException("wrote " + at + " of " + buf.length + " bytes");
            }
            return buf;
        }
    }
}
