package io.tandem.server.http;

import io.tandem.models.tokenize.TokenSpan;
import io.tandem.models.tokenize.Truncation;
import io.tandem.server.core.InferenceRunner;
import io.tandem.server.core.ServedModel;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.ArrayList;
import java.util.List;

/** /tokenize and /decode: tokenizer only, no permits and no timing headers (as TEI). */
final class TokenizerHandlers {

    private final InferenceRunner runner;

    TokenizerHandlers(InferenceRunner runner) {
        this.runner = runner;
    }

    void tokenize(ServerRequest req, ServerResponse res, Surface surface) {
        Endpoint.guard(res, null, false, () -> {
            Requests.Tokenize r = Requests.tokenize(HttpIo.readJson(req));
            ServedModel m = surface.primary();
            if (r.inputs().isEmpty()) {
                throw TeiError.empty("`inputs` cannot be empty");
            }
            if (r.inputs().size() > m.settings().maxClientBatchSize()) {
                throw TeiError.batchSize(r.inputs().size(), m.settings().maxClientBatchSize());
            }
            String prompt = Prompts.resolve(m, r.promptName());
            List<List<TokenSpan>> out = runner.tokenizeOnly(() -> {
                List<List<TokenSpan>> all = new ArrayList<>(r.inputs().size());
                for (String input : r.inputs()) {
                    if (input.isEmpty()) {
                        throw TeiError.emptyInput();
                    }
                    String text = InputTokenizer.guard(input, m.model().tokenizer().maxInputLength() * 250, Truncation.NONE);
                    all.add(m.model().tokenizer().tokenize(prompt == null ? text : prompt + text, r.addSpecialTokens()));
                }
                return all;
            });
            HttpIo.send(res, 200, out);
        });
    }

    void decode(ServerRequest req, ServerResponse res, Surface surface) {
        Endpoint.guard(res, null, false, () -> {
            Requests.Decode r = Requests.decode(HttpIo.readJson(req));
            ServedModel m = surface.primary();
            if (r.ids().size() > m.settings().maxClientBatchSize()) {
                throw TeiError.batchSize(r.ids().size(), m.settings().maxClientBatchSize());
            }
            for (long[] ids : r.ids()) {
                if (ids.length == 0) {
                    throw new TeiError(400, ErrorType.Empty, "Input validation error: `input_ids` cannot be empty",
                            "validation");
                }
            }
            List<String> texts = runner.tokenizeOnly(() -> r.ids().stream()
                    .map(ids -> m.model().tokenizer().decode(ids, r.skipSpecialTokens())).toList());
            HttpIo.send(res, 200, texts);
        });
    }
}
