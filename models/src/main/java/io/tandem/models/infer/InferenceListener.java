package io.tandem.models.infer;

import java.util.List;

/**
 * What the core reports while it serves a model: the server's metrics implement it; the
 * library passes {@link #NONE}. Calls come from request threads and the model's batch threads.
 */
public interface InferenceListener {

    InferenceListener NONE = new InferenceListener() {
    };

    /** A request passed its checks and asks for inference. */
    default void requestStarted(boolean batch) {
    }

    default void requestFailed(InferenceError.Kind kind) {
    }

    /** A request succeeded: its total time and its inputs' mean timings. */
    default void requestSucceeded(boolean batch, Timings means) {
    }

    /**
     * One input entered the pipeline.
     *
     * @param embed an embedding input (TEI's te_embed_*), else a prediction (te_predict_*)
     */
    default void inputStarted(boolean embed) {
    }

    /** One input came back computed, with its tokens after truncation. */
    default void inputSucceeded(boolean embed, int tokens, Timings timings) {
    }

    /** A batch was cut: the token count of each row, in batch order. */
    default void batchFormed(List<Integer> rowLengths) {
    }

    /** An input whose request had gone was dropped from the queue without running. */
    default void inputDropped() {
    }

    /** Both listeners, in order. */
    static InferenceListener both(InferenceListener first, InferenceListener second) {
        return new InferenceListener() {
            @Override
            public void requestStarted(boolean batch) {
                first.requestStarted(batch);
                second.requestStarted(batch);
            }

            @Override
            public void requestFailed(InferenceError.Kind kind) {
                first.requestFailed(kind);
                second.requestFailed(kind);
            }

            @Override
            public void requestSucceeded(boolean batch, Timings means) {
                first.requestSucceeded(batch, means);
                second.requestSucceeded(batch, means);
            }

            @Override
            public void inputStarted(boolean embed) {
                first.inputStarted(embed);
                second.inputStarted(embed);
            }

            @Override
            public void inputSucceeded(boolean embed, int tokens, Timings timings) {
                first.inputSucceeded(embed, tokens, timings);
                second.inputSucceeded(embed, tokens, timings);
            }

            @Override
            public void batchFormed(List<Integer> rowLengths) {
                first.batchFormed(rowLengths);
                second.batchFormed(rowLengths);
            }

            @Override
            public void inputDropped() {
                first.inputDropped();
                second.inputDropped();
            }
        };
    }
}
