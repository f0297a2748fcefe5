package io.tandem.models.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import ai.djl.huggingface.tokenizers.jni.CharSpan;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model's tokenizer, used one text at a time: DJL's batch calls abort the JVM on a
 * tokenizer error, while single calls throw. Content is encoded without special tokens and
 * truncated here (TEI's longest-first rule for pairs, either direction), then the model's
 * special-token template is applied.
 */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int maxInputLength;
    private final long vocabSize;
    private final SpecialTemplate single;
    private final SpecialTemplate pair;
    /** The last pair's first text and its ids: a rerank request sends one query with every text. */
    private volatile Content lastFirst = new Content("", new long[0]);

    private record Content(String text, long[] ids) {
    }

    private TextTokenizer(HuggingFaceTokenizer tokenizer, int maxInputLength, long vocabSize) {
        this.tokenizer = tokenizer;
        this.maxInputLength = maxInputLength;
        this.vocabSize = vocabSize;
        Encoding one = tokenizer.encode("a", true, false);
        this.single = SpecialTemplate.learn(one.getIds(), one.getSpecialTokenMask(), one.getTypeIds(), false);
        Encoding two = tokenizer.encode("a", "b", true, false);
        this.pair = SpecialTemplate.learn(two.getIds(), two.getSpecialTokenMask(), two.getTypeIds(), true);
    }

    /**
     * @param tokenizerJson  the tokenizer.json file
     * @param maxInputLength the model's token limit, special tokens included
     * @param vocabSize      ids at or above it are rejected in id inputs
     */
    public static TextTokenizer load(Path tokenizerJson, int maxInputLength, long vocabSize) throws IOException {
        // Give the JSON as a stream: a path makes DJL also read tokenizer_config.json, whose
        // usual model_max_length of 1e30 it cannot parse. Truncation and padding are ours.
        String limit = Integer.toString(Math.max(maxInputLength, 1) * 256);
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false",
                "modelMaxLength", limit,
                "maxLength", limit);
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, options), maxInputLength, vocabSize);
        }
    }

    public int maxInputLength() {
        return maxInputLength;
    }

    public long vocabSize() {
        return vocabSize;
    }

    /** One sequence with special tokens, truncated to the model's limit as asked. */
    public Tokens encode(String text, Truncation truncation) {
        long[] content = content(text);
        int room = maxInputLength - single.added();
        boolean cut = content.length > room;
        if (cut) {
            if (truncation == Truncation.NONE) {
                throw new InputTooLongException(content.length + single.added(), maxInputLength);
            }
            content = cut(content, Math.max(room, 0), truncation);
        }
        return single.build(content, null, cut);
    }

    /** A (query, text) pair, truncated longest-first as Hugging Face tokenizers do. */
    public Tokens encodePair(String first, String second, Truncation truncation) {
        Content last = lastFirst;
        long[] a = last.text().equals(first) ? last.ids() : content(first);
        lastFirst = new Content(first, a);
        long[] b = content(second);
        int room = Math.max(maxInputLength - pair.added(), 0);
        boolean cut = a.length + b.length > room;
        if (cut) {
            if (truncation == Truncation.NONE) {
                throw new InputTooLongException(a.length + b.length + pair.added(), maxInputLength);
            }
            int[] keep = longestFirst(a.length, b.length, room);
            a = cut(a, keep[0], truncation);
            b = cut(b, keep[1], truncation);
        }
        return pair.build(a, b, cut);
    }

    /** Caller-made token ids, used as they are (the caller includes the special tokens). */
    public Tokens fromIds(long[] ids, Truncation truncation) {
        for (long id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new TokenizerException("token id " + id + " is out of range [0, " + vocabSize + ")", null);
            }
        }
        boolean cut = ids.length > maxInputLength;
        if (cut) {
            if (truncation == Truncation.NONE) {
                throw new InputTooLongException(ids.length, maxInputLength);
            }
            ids = cut(ids, maxInputLength, truncation);
        }
        return new Tokens(ids, new long[ids.length], cut);
    }

    /** Tokens with UTF-8 byte offsets, as TEI's /tokenize shows them (no truncation). */
    public List<TokenSpan> tokenize(String text, boolean addSpecialTokens) {
        Encoding encoding = encodeRaw(text);
        long[] ids = encoding.getIds();
        CharSpan[] spans = encoding.getCharTokenSpans();
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] byteAt = byteOffsets(text);
        List<TokenSpan> out = new ArrayList<>(ids.length + 4);
        if (addSpecialTokens) {
            addSpecials(out, single.prefix());
        }
        for (int i = 0; i < ids.length; i++) {
            CharSpan span = spans[i];
            if (span == null) {
                out.add(new TokenSpan(ids[i], encoding.getTokens()[i], true, null, null));
                continue;
            }
            int start = byteAt[Math.min(span.getStart(), byteAt.length - 1)];
            int stop = byteAt[Math.min(span.getEnd(), byteAt.length - 1)];
            String piece = new String(utf8, start, stop - start, StandardCharsets.UTF_8);
            out.add(new TokenSpan(ids[i], piece, false, start, stop));
        }
        if (addSpecialTokens) {
            addSpecials(out, single.suffix());
        }
        return out;
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        for (long id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new TokenizerException("token id " + id + " is out of range [0, " + vocabSize + ")", null);
            }
        }
        try {
            return tokenizer.decode(ids, skipSpecialTokens);
        } catch (RuntimeException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
    }

    /** The string of a special token id, for /tokenize. */
    private String tokenText(long id) {
        return tokenizer.decode(new long[] {id}, false);
    }

    private void addSpecials(List<TokenSpan> out, SpecialTemplate.Part part) {
        for (long id : part.ids()) {
            out.add(new TokenSpan(id, tokenText(id), true, null, null));
        }
    }

    /**
     * The text's ids without special tokens. Through DJL's native calls rather than its
     * {@code Encoding}, which also copies every token's string, type, word, mask and span out of
     * the native side: ids alone take half the time (a 100-word text: 117 against 239 µs), and
     * a rerank tokenizes every text on the request's path.
     */
    private long[] content(String text) {
        long encoding;
        try {
            encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        } catch (RuntimeException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    private Encoding encodeRaw(String text) {
        try {
            return tokenizer.encode(text, false, false);
        } catch (RuntimeException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
    }

    /** Hugging Face tokenizers' LongestFirst split of {@code room} between two sequences. */
    static int[] longestFirst(int lengthA, int lengthB, int room) {
        int n1 = lengthA;
        int n2 = lengthB;
        boolean swap = n1 > n2;
        if (swap) {
            int t = n1;
            n1 = n2;
            n2 = t;
        }
        n2 = n1 > room ? n1 : Math.max(n1, room - n1);
        if (n1 + n2 > room) {
            n1 = room / 2;
            n2 = n1 + room % 2;
        }
        return swap ? new int[] {n2, n1} : new int[] {n1, n2};
    }

    private static long[] cut(long[] values, int keep, Truncation truncation) {
        if (values.length <= keep) {
            return values;
        }
        return truncation == Truncation.LEFT
                ? Arrays.copyOfRange(values, values.length - keep, values.length)
                : Arrays.copyOf(values, keep);
    }

    /**
     * UTF-8 byte offset of each code point of the text, plus one past the end: the spans DJL
     * reports count Unicode code points (Rust chars).
     */
    private static int[] byteOffsets(String text) {
        int[] at = new int[text.codePointCount(0, text.length()) + 1];
        int bytes = 0;
        int k = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            at[k++] = bytes;
            bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            i += Character.charCount(cp);
        }
        at[k] = bytes;
        return at;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
