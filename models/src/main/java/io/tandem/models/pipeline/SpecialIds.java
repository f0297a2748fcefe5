package io.tandem.models.pipeline;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.ModelFiles;

import java.io.IOException;
import java.util.Set;
import java.util.TreeSet;

/**
 * The token ids FlagEmbedding leaves out of bge-m3's lexical weights (CLS, EOS, PAD, UNK), for
 * a graph without Tandem's manifest, which lists them itself. CLS/EOS/PAD come from config.json;
 * UNK from tokenizer.json's model, read as a stream: bge-m3's file is 17 MB of vocabulary.
 */
final class SpecialIds {

    private static final JsonFactory JSON = new JsonFactory();

    private SpecialIds() {
    }

    static Set<Long> of(ModelFiles files) {
        Set<Long> ids = new TreeSet<>();
        JsonNode config = files.config();
        for (String key : new String[] {"bos_token_id", "cls_token_id", "eos_token_id", "sep_token_id", "pad_token_id"}) {
            if (config.path(key).canConvertToLong()) {
                ids.add(config.path(key).asLong());
            }
        }
        Long unk = unkId(files);
        if (unk != null) {
            ids.add(unk);
        }
        return ids;
    }

    /** tokenizer.json's {@code model.unk_id} (Unigram tokenizers such as XLM-RoBERTa's), or null. */
    private static Long unkId(ModelFiles files) {
        try (JsonParser p = JSON.createParser(files.tokenizer().toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (!field.equals("model") || p.currentToken() != JsonToken.START_OBJECT) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    JsonToken value = p.nextToken();
                    if (key.equals("unk_id") && value == JsonToken.VALUE_NUMBER_INT) {
                        return p.getLongValue();
                    }
                    p.skipChildren();
                }
                return null;
            }
            return null;
        } catch (IOException e) {
            return null; // the tokenizer loaded already; an unreadable unk_id only keeps UNK in the weights
        }
    }
}
