package io.tandem.models.pipeline;

import io.tandem.models.ModelDescriptor;
import io.tandem.models.ModelFiles;
import io.tandem.models.ModelLoadException;
import io.tandem.models.tokenize.TextTokenizer;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.InferenceSession;
import io.tandem.ort.OutputTensor;

import java.util.List;
import java.util.Set;

/** A sequence-classification graph: {@code logits} of shape [batch, labels]. */
public final class ClassifierModel extends Model {

    private final String logits;

    ClassifierModel(String name, ModelFiles files, ModelDescriptor descriptor, TextTokenizer tokenizer,
                    InferenceSession session, FullGraph fullGraph) {
        super(name, files, descriptor, tokenizer, session, fullGraph);
        this.logits = graphOutputs().containsKey("logits") ? "logits" : graphOutputs().keySet().iterator().next();
        long[] shape = graphOutputs().get(logits);
        if (shape.length != 2) {
            throw new ModelLoadException("model " + name + ": output " + logits + " must be [batch, labels]");
        }
    }

    @Override
    protected void warmUp() {
        classify(List.of(tokenizer().encodePair("warm up", "warm up", Truncation.RIGHT)));
    }

    /** Raw logits, one row per input. */
    public float[][] classify(List<Tokens> rows) {
        return classify(prepare(rows));
    }

    /** Raw logits of a prepared batch, one row per input. */
    public float[][] classify(PreparedBatch prepared) {
        List<Tokens> rows = prepared.rows();
        OutputTensor out = run(prepared, Set.of(logits)).get(logits);
        int labels = out.dim(1);
        float[][] result = new float[rows.size()][labels];
        for (int b = 0; b < rows.size(); b++) {
            System.arraycopy(out.data(), b * labels, result[b], 0, labels);
        }
        return result;
    }
}
