package io.tandem.server.http;

import com.fasterxml.jackson.core.ErrorReportConfiguration;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.helidon.http.HeaderNames;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Timings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Bytes in and out: bodies are read and written with our own mapper, never through Helidon's
 * media negotiation (which answers a wrong Content-Type or broken JSON with a 500).
 */
public final class HttpIo {

    /** Jackson's parse errors quote at most 64 characters of the offending input. */
    public static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
            .errorReportConfiguration(ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(64).maxRawContentLength(64).build())
            .build()).build();

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
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readAllBytes();
        } catch (CloseConnectionException e) {
            throw e; // the peer went away or was too slow: nobody to answer
        } catch (RequestException e) {
            // A chunked body that outgrows --payload-limit is only found out while reading it.
            if (e.status().code() == 413) {
                throw new TeiError(413, ErrorType.Validation, "Failed to buffer the request body: length limit exceeded");
            }
            throw new TeiError(400, ErrorType.Validation, "Failed to read the request body");
        } catch (IOException | RuntimeException e) {
            throw new TeiError(400, ErrorType.Validation, "Failed to read the request body");
        }
        // The request is all read: from here until it is answered, a client that hangs up cancels it.
        FramedHttp1.watchClient();
        return parseJson(bytes);
    }

    /**
     * One JSON document in UTF-8, as strictly as TEI's serde_json reads it: no byte-order mark,
     * no other encoding (Jackson alone would guess UTF-16 and UTF-32 from the zero bytes), no
     * invalid UTF-8 (overlong forms, encoded surrogates), nothing but whitespace after the document.
     */
    static JsonNode parseJson(byte[] bytes) {
        CharBuffer text;
        try {
            CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            text = utf8.decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw invalidJson("invalid UTF-8 at byte " + firstInvalidUtf8(bytes));
        }
        if (text.length() > 0 && text.charAt(0) == '\uFEFF') {
            throw invalidJson("expected value at line 1 column 1");
        }
        try (JsonParser parser = JSON.createParser(text.array(), text.arrayOffset(), text.remaining())) {
            JsonNode node = JSON.readTree(parser);
            // An empty body reads as null (or a MissingNode), not as an error.
            if (node == null || node.isMissingNode()) {
                throw invalidJson("EOF while parsing a value");
            }
            try {
                if (parser.nextToken() != null) {
                    throw invalidJson(trailing(parser.currentTokenLocation()));
                }
            } catch (JacksonException e) {
                throw invalidJson(trailing(e.getLocation()));
            }
            if (hasLoneSurrogate(node)) {
                // Not text in any Unicode encoding; TEI's serde_json refuses it the same way.
                throw invalidJson("lone surrogate in a string");
            }
            return node;
        } catch (JacksonException e) {
            throw invalidJson(e.getOriginalMessage());
        } catch (IOException e) {
            throw invalidJson("unreadable body");
        }
    }

    private static TeiError invalidJson(String detail) {
        return new TeiError(400, ErrorType.Validation, "Failed to parse the request body as JSON: " + detail);
    }

    /** serde_json's words for a second document or anything else after the first. */
    private static String trailing(JsonLocation at) {
        return at == null ? "trailing characters"
                : "trailing characters at line " + at.getLineNr() + " column " + at.getColumnNr();
    }

    /** The offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
    static int firstInvalidUtf8(byte[] bytes) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        utf8.decode(in, out, true);
        return in.position();
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
        HttpSpans.answered(answer);
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
