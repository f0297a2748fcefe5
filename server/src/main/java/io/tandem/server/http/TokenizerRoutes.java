package io.tandem.server.http;

import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** /tokenize and /decode: tokenizer only, no permits and no timing headers (as TEI). */
final class TokenizerRoutes {

    void tokenize(ServerRequest req, ServerResponse res, Surface surface) {
        var r = Requests.tokenize(HttpIo.readJson(req));
        HttpIo.send(res, 200, surface.primary().inference().tokenize(r));
    }

    void decode(ServerRequest req, ServerResponse res, Surface surface) {
        var r = Requests.decode(HttpIo.readJson(req));
        HttpIo.send(res, 200, surface.primary().inference().decode(r));
    }
}
