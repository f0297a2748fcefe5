package io.tandem.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.BuiltinModels;
import io.tandem.models.Fixtures;
import io.tandem.models.ModelOptions;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The built-in model, the real BAAI bge-small-zh-v1.5, against golden vectors made by another
 * implementation (Python tokenizers + onnxruntime, see models/export/make_fixtures.py).
 */
class BgeSmallZhGoldenTest {

    private static JsonNode golden;
    private static EmbedderModel model;

    @BeforeAll
    static void load() {
        golden = Fixtures.read("bge-small-zh-v1.5-golden.json");
        Path dir = BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir());
        model = (EmbedderModel) Model.load("bge-small-zh", dir, new ModelOptions(DeviceChoice.CPU, null, null, 0));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void embeddingsMatchTheReferenceOneByOne() {
        assertTrue(golden.get("cases").size() >= 6);
        for (JsonNode c : golden.get("cases")) {
            Tokens t = model.tokenizer().encode(c.get("text").asText(), Truncation.RIGHT);
            assertArrayEquals(Fixtures.longs(c.get("input_ids")), t.ids(), c.get("text").asText());
            assertEquals(c.get("truncated").asBoolean(), t.truncated());
            float[] v = VectorMath.normalize(model.embed(List.of(t), EnumSet.of(EmbedOutput.DENSE)).getFirst().dense());
            double cosine = VectorMath.cosine(Fixtures.floats(c.get("embedding")), v);
            assertTrue(cosine >= 0.9999, "cosine " + cosine + " for " + c.get("text"));
        }
    }

    @Test
    void embeddingsMatchTheReferenceInOneBatch() {
        List<Tokens> batch = new ArrayList<>();
        golden.get("cases").forEach(c -> batch.add(model.tokenizer().encode(c.get("text").asText(), Truncation.RIGHT)));
        List<Embedding> out = model.embed(batch, EnumSet.of(EmbedOutput.DENSE));
        for (int i = 0; i < batch.size(); i++) {
            float[] expected = Fixtures.floats(golden.get("cases").get(i).get("embedding"));
            double cosine = VectorMath.cosine(expected, out.get(i).dense());
            assertTrue(cosine >= 0.9999, "cosine " + cosine + " for case " + i);
        }
    }
}
