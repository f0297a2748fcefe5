package io.tandem.models;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The output names of an ONNX graph, read from its protobuf without opening a session: the
 * kind of a model whose config.json has no {@code architectures} is decided from them before
 * the (slow) session opens, and before --model-id picks the model's slot.
 *
 * <p>Only ModelProto.graph (field 7) and GraphProto.output (field 12) → ValueInfoProto.name
 * (field 1) are read; everything else, weights included, is skipped by its length, so a graph
 * of a gigabyte costs a few seeks. A protobuf library would do the same with a generated
 * onnx.proto; for three field numbers that is more than this.
 */
public final class OnnxOutputs {

    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_OUTPUT = 12;
    private static final int VALUE_INFO_NAME = 1;
    private static final int LENGTH_DELIMITED = 2;

    private OnnxOutputs() {
    }

    public static List<String> names(Path onnx) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(onnx), 1 << 16)) {
            List<String> names = new ArrayList<>();
            long end = Files.size(onnx);
            Reader r = new Reader(in);
            while (r.position < end) {
                long key = r.varint();
                if (key >>> 3 == MODEL_GRAPH && (key & 7) == LENGTH_DELIMITED) {
                    long graphEnd = r.varint() + r.position;
                    while (r.position < graphEnd) {
                        long k = r.varint();
                        if (k >>> 3 == GRAPH_OUTPUT && (k & 7) == LENGTH_DELIMITED) {
                            long infoEnd = r.varint() + r.position;
                            while (r.position < infoEnd) {
                                long f = r.varint();
                                if (f >>> 3 == VALUE_INFO_NAME && (f & 7) == LENGTH_DELIMITED) {
                                    names.add(new String(r.bytes((int) r.varint()), StandardCharsets.UTF_8));
                                } else {
                                    r.skip(f);
                                }
                            }
                        } else {
                            r.skip(k);
                        }
                    }
                    return names;
                }
                r.skip(key);
            }
            return names;
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot read the outputs of " + onnx + " (is it an ONNX graph?): " + e, e);
        }
    }

    /** A forward-only protobuf wire reader that counts its position. */
    private static final class Reader {
        private final InputStream in;
        long position;

        Reader(InputStream in) {
            this.in = in;
        }

        int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new EOFException();
            }
            position++;
            return b;
        }

        long varint() throws IOException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = read();
                value |= (long) (b & 0x7f) << shift;
                if (b < 0x80) {
                    return value;
                }
            }
            throw new IOException("malformed varint");
        }

        byte[] bytes(int n) throws IOException {
            byte[] b = in.readNBytes(n);
            if (b.length != n) {
                throw new EOFException();
            }
            position += n;
            return b;
        }

        /** Skips the value of a field whose key was just read. */
        void skip(long key) throws IOException {
            switch ((int) (key & 7)) {
                case 0 -> varint();
                case 1 -> skipBytes(8);
                case 2 -> skipBytes(varint());
                case 5 -> skipBytes(4);
                default -> throw new IOException("unsupported wire type " + (key & 7));
            }
        }

        private void skipBytes(long n) throws IOException {
            in.skipNBytes(n);
            position += n;
        }
    }
}
