package io.tandem.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.tandem.models.infer.Request;
import io.tandem.models.pipeline.EmbedOutput;

import java.util.ArrayList;
import java.util.List;

/**
 * Request bodies of TEI's routes, parsed from JSON trees into the core's requests with TEI's rules (untagged unions,
 * defaults, unknown fields ignored) and TEI-like messages for shapes that do not fit.
 */
public final class Requests {

    private Requests() {
    }

    /** /rerank: the core's request, and whether the answer repeats the texts. */
    public record Rerank(Request.Rerank request, boolean returnText) {
    }

    /** The OpenAI route: the core's request, and whether vectors go out as base64. */
    public record OpenAi(Request.Embed request, boolean base64) {
    }

    public static Request.Embed embed(JsonNode body) {
        requireObject(body);
        return new Request.Embed(inputs(body, "inputs"), truncate(body), optString(body, "prompt_name"),
                EmbedOutput.DENSE, bool(body, "normalize", true), optUnsigned(body, "dimensions"));
    }

    /** /embed_all and /embed_sparse: no normalize or dimensions. */
    public static Request.Embed embedAll(JsonNode body, EmbedOutput output) {
        requireObject(body);
        return new Request.Embed(inputs(body, "inputs"), truncate(body), optString(body, "prompt_name"), output, false,
                null);
    }

    public static Rerank rerank(JsonNode body) {
        requireObject(body);
        String query = string(body, "query");
        JsonNode texts = required(body, "texts");
        if (!texts.isArray()) {
            throw TeiError.shape("texts: invalid type: " + describe(texts) + ", expected a sequence");
        }
        List<String> list = new ArrayList<>(texts.size());
        for (JsonNode t : texts) {
            if (!t.isTextual()) {
                throw TeiError.shape("texts: invalid type: " + describe(t) + ", expected a string");
            }
            list.add(t.asText());
        }
        return new Rerank(new Request.Rerank(query, list, truncate(body), bool(body, "raw_scores", false)),
                bool(body, "return_text", false));
    }

    public static Request.Predict predict(JsonNode body) {
        requireObject(body);
        JsonNode inputs = required(body, "inputs");
        List<List<String>> items = new ArrayList<>();
        boolean batch;
        if (inputs.isTextual()) {
            items.add(List.of(inputs.asText()));
            batch = false;
        } else if (inputs.isArray() && !inputs.isEmpty() && inputs.get(0).isTextual()) {
            items.add(stringList(inputs, 1, 2, "inputs"));
            batch = false;
        } else if (inputs.isArray() && !inputs.isEmpty()) {
            for (JsonNode item : inputs) {
                if (!item.isArray()) {
                    throw TeiError.shape("inputs: data did not match any variant of untagged enum PredictInput");
                }
                items.add(stringList(item, 1, 2, "inputs"));
            }
            batch = true;
        } else {
            throw TeiError.shape("inputs: invalid length 0, expected 1 or 2 strings or a batch of them");
        }
        return new Request.Predict(items, batch, truncate(body), bool(body, "raw_scores", false));
    }

    public static Request.Similarity similarity(JsonNode body) {
        requireObject(body);
        JsonNode inputs = required(body, "inputs");
        if (!inputs.isObject()) {
            throw TeiError.shape("inputs: invalid type: " + describe(inputs) + ", expected struct SimilarityInput");
        }
        String source = string(inputs, "source_sentence");
        JsonNode sentences = required(inputs, "sentences");
        if (!sentences.isArray()) {
            throw TeiError.shape("sentences: invalid type: " + describe(sentences) + ", expected a sequence");
        }
        List<String> list = stringList(sentences, 0, Integer.MAX_VALUE, "sentences");
        JsonNode parameters = body.path("parameters");
        Request.Truncate truncate = Request.Truncate.DEFAULT;
        String prompt = null;
        if (parameters.isObject()) {
            truncate = truncate(parameters);
            prompt = optString(parameters, "prompt_name");
        } else if (!parameters.isMissingNode() && !parameters.isNull()) {
            throw TeiError.shape("parameters: invalid type: " + describe(parameters) + ", expected struct");
        }
        return new Request.Similarity(source, list, truncate, prompt);
    }

    public static Request.Tokenize tokenize(JsonNode body) {
        requireObject(body);
        JsonNode inputs = required(body, "inputs");
        List<String> list;
        boolean batch;
        if (inputs.isTextual()) {
            list = List.of(inputs.asText());
            batch = false;
        } else if (inputs.isArray()) {
            list = stringList(inputs, 0, Integer.MAX_VALUE, "inputs");
            batch = true;
        } else {
            throw TeiError.shape("inputs: data did not match any variant of untagged enum TokenizeInput");
        }
        return new Request.Tokenize(list, batch, bool(body, "add_special_tokens", true), optString(body, "prompt_name"));
    }

    public static Request.Decode decode(JsonNode body) {
        requireObject(body);
        JsonNode ids = required(body, "ids");
        List<long[]> list = new ArrayList<>();
        if (ids.isArray() && (ids.isEmpty() || ids.get(0).isNumber())) {
            list.add(idList(ids, "ids").orElseThrow(() -> untagged("ids", "InputIds")));
        } else if (ids.isArray()) {
            for (JsonNode item : ids) {
                list.add(idList(item, "ids").orElseThrow(() -> untagged("ids", "InputIds")));
            }
        } else {
            throw untagged("ids", "InputIds");
        }
        return new Request.Decode(list, bool(body, "skip_special_tokens", true));
    }

    public static OpenAi openAi(JsonNode body) {
        requireObject(body);
        Request.Inputs input = inputs(body, "input");
        String format = body.path("encoding_format").isMissingNode() || body.path("encoding_format").isNull()
                ? "float" : body.path("encoding_format").asText(null);
        if (!"float".equals(format) && !"base64".equals(format)) {
            throw TeiError.shape("encoding_format: unknown variant `" + clip(body.path("encoding_format").toString())
                    + "`, expected `float` or `base64`");
        }
        // OpenAI's vectors are always normalised.
        Request.Embed request = new Request.Embed(input, Request.Truncate.DEFAULT, null, EmbedOutput.DENSE, true,
                optUnsigned(body, "dimensions"));
        return new OpenAi(request, "base64".equals(format));
    }

    /** TEI's untagged Input: a string, one id list, or a batch of strings and id lists. */
    static Request.Inputs inputs(JsonNode body, String field) {
        JsonNode node = required(body, field);
        if (node.isTextual()) {
            return new Request.Inputs(List.of(Request.Input.text(node.asText())), false);
        }
        if (!node.isArray()) {
            throw untagged(field, "Input");
        }
        var ids = idList(node, field);
        if (ids.isPresent()) {
            return new Request.Inputs(List.of(new Request.Input(null, ids.get())), false);
        }
        List<Request.Input> items = new ArrayList<>(node.size());
        for (JsonNode item : node) {
            if (item.isTextual()) {
                items.add(Request.Input.text(item.asText()));
            } else {
                items.add(new Request.Input(null, idList(item, field).orElseThrow(() -> untagged(field, "Input"))));
            }
        }
        return new Request.Inputs(items, true);
    }

    /** An array of u32, or empty when the node is not one. */
    private static java.util.Optional<long[]> idList(JsonNode node, String field) {
        if (!node.isArray()) {
            return java.util.Optional.empty();
        }
        long[] ids = new long[node.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > 0xFFFF_FFFFL) {
                return java.util.Optional.empty();
            }
            ids[i] = v.asLong();
        }
        return java.util.Optional.of(ids);
    }

    private static Request.Truncate truncate(JsonNode body) {
        JsonNode t = body.path("truncate");
        Boolean truncate = null;
        if (t.isBoolean()) {
            truncate = t.asBoolean();
        } else if (!t.isMissingNode() && !t.isNull()) {
            throw TeiError.shape("truncate: invalid type: " + describe(t) + ", expected a boolean");
        }
        JsonNode d = body.path("truncation_direction");
        boolean left = false;
        if (!d.isMissingNode()) {
            String dir = d.isTextual() ? d.asText() : null;
            if ("Left".equals(dir) || "left".equals(dir)) {
                left = true;
            } else if (!"Right".equals(dir) && !"right".equals(dir)) {
                throw TeiError.shape("truncation_direction: unknown variant `" + clip(dir != null ? dir : d.toString())
                        + "`, expected one of `Left`, `Right`, `left`, `right`");
            }
        }
        return new Request.Truncate(truncate, left);
    }

    private static List<String> stringList(JsonNode array, int min, int max, String field) {
        if (array.size() < min || array.size() > max) {
            throw TeiError.shape(field + ": invalid length " + array.size() + ", expected "
                    + (max == 2 ? "1 or 2 strings" : "a sequence"));
        }
        List<String> list = new ArrayList<>(array.size());
        for (JsonNode s : array) {
            if (!s.isTextual()) {
                throw TeiError.shape(field + ": invalid type: " + describe(s) + ", expected a string");
            }
            list.add(s.asText());
        }
        return list;
    }

    private static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw TeiError.shape("invalid type: " + describe(body) + ", expected a JSON object");
        }
    }

    private static JsonNode required(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null) {
            throw TeiError.shape("missing field `" + field + "`");
        }
        return node;
    }

    private static String string(JsonNode body, String field) {
        JsonNode node = required(body, field);
        if (!node.isTextual()) {
            throw TeiError.shape(field + ": invalid type: " + describe(node) + ", expected a string");
        }
        return node.asText();
    }

    private static String optString(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw TeiError.shape(field + ": invalid type: " + describe(node) + ", expected a string");
        }
        return node.asText();
    }

    private static boolean bool(JsonNode body, String field, boolean fallback) {
        JsonNode node = body.get(field);
        if (node == null) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw TeiError.shape(field + ": invalid type: " + describe(node) + ", expected a boolean");
        }
        return node.asBoolean();
    }

    private static Integer optUnsigned(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 0) {
            throw TeiError.shape(field + ": invalid value: " + describe(node) + ", expected usize");
        }
        return node.asInt();
    }

    private static TeiError untagged(String field, String type) {
        return TeiError.shape(field + ": data did not match any variant of untagged enum " + type);
    }

    /** At most the first 64 characters of a client's value in a message (whole code points), then "…". */
    static String clip(String s) {
        if (s.codePointCount(0, s.length()) <= 64) {
            return s;
        }
        return s.substring(0, s.offsetByCodePoints(0, 64)) + "…";
    }

    private static String describe(JsonNode node) {
        if (node == null || node.isNull()) {
            return "null";
        }
        if (node.isTextual()) {
            return "string \"" + clip(node.asText()) + "\"";
        }
        if (node.isBoolean()) {
            return "boolean `" + node.asBoolean() + "`";
        }
        if (node.isIntegralNumber()) {
            return "integer `" + clip(node.asText()) + "`";
        }
        if (node.isNumber()) {
            return "floating point `" + clip(node.asText()) + "`";
        }
        if (node.isArray()) {
            return "sequence";
        }
        return "map";
    }
}
