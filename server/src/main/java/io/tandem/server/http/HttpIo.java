package io.tandem.server.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.helidon.http.HeaderNames;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Timings;

import java.io.IOException;
import java.io.InputStream;

/**
 * Bytes in and out: bodies are read and written with our own mapper, never through Helidon's
 * media negotiation (which answers a wrong Content-Type or broken JSON with a 500).
 */
public final class HttpIo {

    public static final ObjectMapper JSON = JsonMapper.builder().build();

    private HttpIo() {
    }

    /** The JSON body, with TEI's 415 and 400 for a wrong Content-Type or unparsable JSON. */
    public static JsonNode readJson(ServerRequest req) {
        String type;
        try {
            type = req.headers().contentType().map(t -> t.mediaType().text()).orElse("");
        } catch (RuntimeException e) {
            type = ""; // a Content-Type Helidon cannot parse is not JSON's either
        }
        if (!type.equals("application/json") && !type.endsWith("+json")) {
            throw new TeiError(415, ErrorType.Validation, "Expected request with `Content-Type: application/json`");
        }
        try (InputStream in = req.content().inputStream()) {
            JsonNode node = JSON.readTree(in);
            // An empty body reads as a MissingNode (Jackson 2.10+), not null.
            if (node == null || node.isMissingNode()) {
                throw new TeiError(400, ErrorType.Validation,
                        "Failed to parse the request body as JSON: EOF while parsing a value");
            }
            if (hasLoneSurrogate(node)) {
                // Not text in any Unicode encoding; TEI's serde_json refuses it the same way.
                throw new TeiError(400, ErrorType.Validation,
                        "Failed to parse the request body as JSON: lone surrogate in a string");
            }
            return node;
        } catch (TeiError e) {
            throw e;
        } catch (JacksonException e) {
            throw new TeiError(400, ErrorType.Validation,
                    "Failed to parse the request body as JSON: " + e.getOriginalMessage());
        } catch (RequestException e) {
            // A chunked body that outgrows --payload-limit is only found out while reading it.
            if (e.status().code() == 413) {
                throw new TeiError(413, ErrorType.Validation, "Failed to buffer the request body: length limit exceeded");
            }
            throw new TeiError(400, ErrorType.Validation, "Failed to read the request body");
        } catch (IOException | RuntimeException e) {
            // e.g. a broken chunk header (Helidon throws NumberFormatException from the entity stream)
            throw new TeiError(400, ErrorType.Validation, "Failed to read the request body");
        }
    }

    /** Whether any string (or key) of the tree holds a UTF-16 surrogate without its partner. */
    static boolean hasLoneSurrogate(JsonNode root) {
        java.util.ArrayDeque<JsonNode> todo = new java.util.ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            JsonNode node = todo.pop();
            if (node.isTextual()) {
                if (loneSurrogate(node.textValue())) {
                    return true;
                }
            } else if (node.isObject()) {
                for (var field : node.properties()) {
                    if (loneSurrogate(field.getKey())) {
                        return true;
                    }
                    todo.push(field.getValue());
                }
            } else if (node.isArray()) {
                node.forEach(todo::push);
            }
        }
        return false;
    }

    private static boolean loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    public static void send(ServerResponse res, int status, Object body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write response", e);
        }
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(bytes);
    }

    /** A served request's answer with TEI's x-compute-* and x-*-time headers. */
    public static void sendAnswer(ServerResponse res, Answer<?> answer, Object body) {
        Timings t = answer.timings();
        res.header(HeaderNames.create("x-compute-type"), "gpu+optimized");
        res.header(HeaderNames.create("x-compute-time"), Long.toString(t.total().toMillis()));
        res.header(HeaderNames.create("x-compute-characters"), Long.toString(answer.characters()));
        res.header(HeaderNames.create("x-compute-tokens"), Long.toString(answer.tokens()));
        res.header(HeaderNames.create("x-total-time"), Long.toString(t.total().toMillis()));
        res.header(HeaderNames.create("x-tokenization-time"), Long.toString(t.tokenization().toMillis()));
        res.header(HeaderNames.create("x-queue-time"), Long.toString(t.queue().toMillis()));
        res.header(HeaderNames.create("x-inference-time"), Long.toString(t.inference().toMillis()));
        send(res, 200, body);
    }

    /** TEI's error body, or OpenAI's shape for the OpenAI routes. */
    public static void sendError(ServerResponse res, int status, ErrorType type, String message, boolean openAi) {
        send(res, status, openAi ? new Bodies.OpenAiError(message, status, type.name()) : new Bodies.TeiError(message, type));
    }

    /** TEI's error body as bytes, for responses Helidon makes before routing (413, 503). */
    public static byte[] errorBytes(String message, ErrorType type) {
        try {
            return JSON.writeValueAsBytes(new Bodies.TeiError(message, type));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
