package io.tandem.models.infer;

import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * TEI's per-input rules, applied on the tokenizer threads: empty inputs, the character guard
 * (max_input_length × 250 characters), the prompt, then the tokenizer with truncation.
 */
final class InputRules {

    /** TEI's bound on characters per token allowed before tokenizing. */
    private static final int CHARACTERS_PER_TOKEN = 250;

    private InputRules() {
    }

    static Supplier<Tokens> single(TextTokenizer tokenizer, Request.Input input, Truncation truncation, String prompt) {
        return () -> {
            if (input.ids() != null) {
                if (input.ids().length == 0) {
                    throw InferenceError.emptyInput();
                }
                if (prompt == null) {
                    return tokenizer.fromIds(input.ids(), truncation);
                }
                return tokenizer.encode(prompt + tokenizer.decode(input.ids(), true), truncation);
            }
            if (input.text().isEmpty()) {
                throw InferenceError.emptyInput();
            }
            String text = guard(input.text(), characterLimit(tokenizer), truncation);
            return tokenizer.encode(prompt == null ? text : prompt + text, truncation);
        };
    }

    static Supplier<Tokens> pair(TextTokenizer tokenizer, String first, String second, Truncation truncation) {
        return () -> {
            if (first.isEmpty() && second.isEmpty()) {
                throw InferenceError.emptyInput();
            }
            int half = characterLimit(tokenizer) / 2;
            return tokenizer.encodePair(guard(first, half, truncation), guard(second, half, truncation), truncation);
        };
    }

    static int characterLimit(TextTokenizer tokenizer) {
        return tokenizer.maxInputLength() * CHARACTERS_PER_TOKEN;
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
                throw InferenceError.validation("`inputs` must have less than " + limit + " characters. Given: " + chars);
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
