package io.tandem.server.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.Rank;
import io.tandem.models.infer.Request;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Cohere's (v2) and Jina's rerank API, {@code POST /v1/rerank} and {@code /v2/rerank}: a face over
 * the same core call as /rerank ({@code Inference.rerank}), so the ranking, admission, limits
 * and metrics are /rerank's. One answer serves both clients: Cohere's {@code id}, {@code results}
 * and {@code meta}, with Jina's {@code model} and {@code usage} beside them (each API's clients
 * ignore the other's fields). Errors are Cohere's: {@code {"message": …}} with Cohere's statuses.
 */
final class CohereRerank {

    /** Cohere bills one search unit per query with up to 100 documents. */
    private static final int DOCUMENTS_PER_SEARCH_UNIT = 100;

    /** The parsed request. {@code topN} null: every document. */
    record Parsed(Request.Rerank request, Integer topN, boolean returnDocuments) {
    }

    record Document(String text) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Result(int index, @JsonProperty("relevance_score") float relevanceScore, Document document) {
    }

    record ApiVersion(String version, @JsonProperty("is_experimental") boolean isExperimental) {
    }

    record BilledUnits(@JsonProperty("search_units") long searchUnits) {
    }

    record Tokens(@JsonProperty("input_tokens") long inputTokens,
                  @JsonProperty("output_tokens") long outputTokens) {
    }

    record Meta(@JsonProperty("api_version") ApiVersion apiVersion, @JsonProperty("billed_units") BilledUnits billedUnits,
                Tokens tokens) {
    }

    record Usage(@JsonProperty("total_tokens") long totalTokens, @JsonProperty("prompt_tokens") long promptTokens) {
    }

    record Response(String id, String model, List<Result> results, Meta meta, Usage usage) {
    }

    /** Cohere's error body. */
    record Error(String message) {
    }

    void rerank(ServerRequest req, ServerResponse res, Surface surface) {
        Parsed p = parse(HttpIo.readJson(req));
        Inference model = surface.ranking(p.request());
        Answer<List<Rank>> a = model.rerank(p.request());
        List<Rank> ranked = p.topN() == null ? a.value() : a.value().subList(0, Math.min(p.topN(), a.value().size()));
        List<String> texts = p.request().texts();
        List<Result> results = new ArrayList<>(ranked.size());
        for (Rank r : ranked) {
            results.add(new Result(r.index(), r.score(),
                    p.returnDocuments() ? new Document(texts.get(r.index())) : null));
        }
        long searchUnits = Math.max(1, (texts.size() + DOCUMENTS_PER_SEARCH_UNIT - 1) / DOCUMENTS_PER_SEARCH_UNIT);
        Meta meta = new Meta(new ApiVersion("2", false), new BilledUnits(searchUnits), new Tokens(a.tokens(), 0));
        HttpIo.sendAnswer(res, a, new Response(UUID.randomUUID().toString(), model.name(), results, meta,
                new Usage(a.tokens(), a.tokens())));
    }

    /**
     * {@code query}, {@code documents} (strings or objects with a {@code text}), {@code top_n} (at
     * least 1; more than the documents means all), {@code return_documents} (Cohere's default,
     * false; Jina's is true). {@code model} names the model in Cohere's and Jina's APIs: here the
     * path picks it, so any value is accepted, as are Cohere's {@code max_tokens_per_doc} and
     * {@code rank_fields} (the server's truncation rule applies; documents are text).
     */
    static Parsed parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw invalid("the request body must be a JSON object");
        }
        JsonNode query = body.get("query");
        if (query == null || !query.isTextual()) {
            throw invalid("`query` must be a string");
        }
        JsonNode documents = body.get("documents");
        if (documents == null || !documents.isArray()) {
            throw invalid("`documents` must be a list of strings or of objects with a `text` string");
        }
        List<String> texts = new ArrayList<>(documents.size());
        for (JsonNode d : documents) {
            JsonNode text = d.isObject() ? d.get("text") : d;
            if (text == null || !text.isTextual()) {
                throw invalid("documents[" + texts.size() + "] must be a string or an object with a `text` string");
            }
            texts.add(text.asText());
        }
        Integer topN = null;
        JsonNode n = body.get("top_n");
        if (n != null && !n.isNull()) {
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1) {
                throw invalid("`top_n` must be a positive integer");
            }
            topN = n.asInt();
        }
        boolean returnDocuments = false;
        JsonNode r = body.get("return_documents");
        if (r != null && !r.isNull()) {
            if (!r.isBoolean()) {
                throw invalid("`return_documents` must be a boolean");
            }
            returnDocuments = r.asBoolean();
        }
        return new Parsed(new Request.Rerank(query.asText(), texts, Request.Truncate.DEFAULT, false), topN,
                returnDocuments);
    }

    private static TeiError invalid(String message) {
        return new TeiError(400, ErrorType.Validation, message);
    }

    /** Whether a path is one of these routes (at the root, under /models/{name} or on a model's port). */
    static boolean route(String path) {
        return path.endsWith("/v1/rerank") || path.endsWith("/v2/rerank");
    }

    /**
     * Cohere's status for a TEI status: what the client must change is 400 (Cohere has no 413,
     * 415, 422 or 424 for a request it understood), an unknown model 404, and the server's
     * states keep theirs (429, 499, 503, 504); anything else is 500.
     */
    static int status(int tei) {
        return switch (tei) {
            case 400, 413, 415, 422, 424 -> 400;
            case 401, 404, 429, 499, 503, 504 -> tei;
            default -> 500;
        };
    }
}
