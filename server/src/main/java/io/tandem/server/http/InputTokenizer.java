package io.tandem.server.http;

import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.server.core.ServedModel;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * TEI's per-input validation and tokenization rules: empty inputs, the character guard
 * (max_input_length × 250 characters), prompts, then the tokenizer with truncation.
 * The returned tasks run on the tokenizer pool.
 */
final class InputTokenizer {

    private InputTokenizer() {
    }

    static Supplier<Tokens> single(ServedModel model, Requests.Input input, Truncation truncation, String prompt) {
        TextTokenizer tokenizer = model.model().tokenizer();
        return () -> {
            if (input.ids() != null) {
                if (input.ids().length == 0) {
                    throw TeiError.emptyInput();
                }
                if (prompt == null) {
                    return tokenizer.fromIds(input.ids(), truncation);
                }
                return tokenizer.encode(prompt + tokenizer.decode(input.ids(), true), truncation);
            }
            if (input.text().isEmpty()) {
                throw TeiError.emptyInput();
            }
            String text = guard(input.text(), tokenizer.maxInputLength() * 250, truncation);
            return tokenizer.encode(prompt == null ? text : prompt + text, truncation);
        };
    }

    static Supplier<Tokens> pair(ServedModel model, String first, String second, Truncation truncation) {
        TextTokenizer tokenizer = model.model().tokenizer();
        return () -> {
            if (first.isEmpty() && second.isEmpty()) {
                throw TeiError.emptyInput();
            }
            int half = tokenizer.maxInputLength() * 250 / 2;
            String a = guard(first, half, truncation);
            String b = guard(second, half, truncation);
            return tokenizer.encodePair(a, b, truncation);
        };
    }

    /**
     * The character guard: with truncation off, more than {@code limit} characters is an
     * error; with it on, the text is cut to {@code limit} bytes (at a character boundary)
     * before tokenization, so a huge input costs no huge tokenization.
     */
    static String guard(String text, int limit, Truncation truncation) {
        if (text.length() <= limit) {
            return text;
        }
        int chars = text.codePointCount(0, text.length());
        if (truncation == Truncation.NONE) {
            if (chars > limit) {
                throw TeiError.validation("`inputs` must have less than " + limit + " characters. Given: " + chars);
            }
            return text;
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        if (utf8.length <= limit) {
            return text;
        }
        if (truncation == Truncation.LEFT) {
            int start = utf8.length - limit;
            while (start < utf8.length && (utf8[start] & 0xC0) == 0x80) {
                start++;
            }
            return new String(utf8, start, utf8.length - start, StandardCharsets.UTF_8);
        }
        int end = limit;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
            end--;
        }
        return new String(utf8, 0, end, StandardCharsets.UTF_8);
    }
}
