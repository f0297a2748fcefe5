package io.tandem.models.infer;

import io.tandem.models.pipeline.EmbedOutput;

import java.util.List;

/**
 * What a caller asks of a model, already parsed: the HTTP layer builds these from TEI's JSON,
 * the library from its arguments. Rules (limits, prompts, truncation) are applied by
 * {@link Inference}.
 */
public sealed interface Request {

    /** One input: a text, or caller-made token ids. */
    record Input(String text, long[] ids) {
        public static Input text(String text) {
            return new Input(text, null);
        }

        /** Unicode characters as sent (TEI's x-compute-characters), or the number of ids. */
        public int characters() {
            return text != null ? text.codePointCount(0, text.length()) : ids.length;
        }
    }

    /** One input, or a batch (which keeps the outer list in responses and counts as a batch request). */
    record Inputs(List<Input> items, boolean batch) {
        public static Inputs texts(List<String> texts) {
            return new Inputs(texts.stream().map(Input::text).toList(), true);
        }
    }

    /** Truncation as asked: {@code truncate} null means the model's auto-truncate setting. */
    record Truncate(Boolean truncate, boolean left) {
        public static final Truncate DEFAULT = new Truncate(null, false);
    }

    /**
     * @param output     which output to return (dense vectors are cut to {@code dimensions}, then normalised)
     * @param dimensions null: the model's full size
     */
    record Embed(Inputs inputs, Truncate truncate, String promptName, EmbedOutput output, boolean normalize,
                 Integer dimensions) implements Request {
    }

    /** Cosine similarity of one sentence with each of the others. */
    record Similarity(String source, List<String> sentences, Truncate truncate, String promptName) implements Request {
    }

    /** @param rawScores logits instead of sigmoid scores (cross-encoders only) */
    record Rerank(String query, List<String> texts, Truncate truncate, boolean rawScores) implements Request {

        /** TEI refuses an empty list first, before it looks at the model. */
        public void requireTexts() {
            if (texts.isEmpty()) {
                throw InferenceError.empty("`texts` cannot be empty");
            }
        }
    }

    /** Each item is one text or a (text, text_pair). */
    record Predict(List<List<String>> items, boolean batch, Truncate truncate, boolean rawScores) implements Request {
    }

    record Tokenize(List<String> inputs, boolean batch, boolean addSpecialTokens, String promptName) implements Request {
    }

    record Decode(List<long[]> ids, boolean skipSpecialTokens) implements Request {
    }
}
