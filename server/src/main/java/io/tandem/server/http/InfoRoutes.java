package io.tandem.server.http;

import io.tandem.models.ModelKind;
import io.tandem.server.BuildInfo;
import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.server.core.ServedModel;
import io.tandem.server.metrics.MetricsRegistry;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/** /info, /health, /metrics, /models and the OpenAPI document. */
final class InfoRoutes {

    static final String TEI_VERSION = "1.9.3";

    private final ServerInfo server;
    private final MetricsRegistry registry;
    private final byte[] openApi;

    /** Server-wide facts /info reports next to the model's. */
    record ServerInfo(int tokenizationWorkers, String version, BuildInfo build) {
    }

    InfoRoutes(ServerInfo server, MetricsRegistry registry) {
        this.server = server;
        this.registry = registry;
        try (InputStream in = InfoRoutes.class.getResourceAsStream("/openapi.json")) {
            this.openApi = in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void info(ServerRequest req, ServerResponse res, Surface surface) {
        boolean combined = surface.embedder() != null && surface.reranker() != null || surface.biEncoderRerank();
        List<Bodies.ModelSummary> models = null;
        if (combined) {
            models = new ArrayList<>();
            for (ServedModel s : new ServedModel[] {surface.embedder(), surface.reranker()}) {
                if (s != null) {
                    models.add(summary(s));
                }
            }
        }
        String rerankMode = !combined ? null : surface.reranker() != null ? "cross-encoder" : "bi-encoder";
        HttpIo.send(res, 200, info(surface.primary(), rerankMode, models));
    }

    void models(ServerRequest req, ServerResponse res, List<ServedModel> all, boolean biEncoder) {
        String mode = all.stream().anyMatch(m -> m.kind() == ModelKind.RERANKER) ? "cross-encoder"
                : biEncoder ? "bi-encoder" : "none";
        HttpIo.send(res, 200, new Bodies.Models(all.stream().map(InfoRoutes::summary).toList(), mode));
    }

    void health(ServerRequest req, ServerResponse res, Surface surface) {
        for (ServedModel m : new ServedModel[] {surface.embedder(), surface.reranker()}) {
            if (m != null && !m.inference().healthy()) {
                HttpErrors.send(req, res, InferenceError.unhealthy());
                return;
            }
        }
        res.status(200).send();
    }

    void metrics(ServerRequest req, ServerResponse res, Predicate<Map<String, String>> filter) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(filter == null ? registry.render() : registry.render(filter));
    }

    void openApi(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(openApi);
    }

    /** TEI's /info for one model, then Tandem's additions. */
    private Bodies.Info info(ServedModel m, String rerankMode, List<Bodies.ModelSummary> models) {
        var d = m.inference().model().descriptor();
        var model = m.inference().model();
        InferenceSettings limits = m.inference().settings();
        EmbedderModel embedder = model instanceof EmbedderModel e ? e : null;
        return new Bodies.Info(m.name(), m.settings().revision(), d.dtype(), m.name(), modelType(m),
                limits.maxConcurrentRequests(), d.maxInputLength(), limits.maxBatchTokens(),
                m.settings().maxBatchRequests(), limits.maxClientBatchSize(), limits.autoTruncate(),
                server.tokenizationWorkers(), TEI_VERSION, server.build().sha(), server.build().dockerLabel(), server.version(), model.device(),
                model.fallbackReason(), embedder != null ? outputs(embedder) : null,
                embedder != null ? embedder.outputNames() : null, model.gpuMemoryAtLoad() >= 0 ? model.gpuMemoryAtLoad() : null, rerankMode, models);
    }

    private static Map<String, Object> modelType(ServedModel m) {
        var d = m.inference().model().descriptor();
        if (d.kind() == ModelKind.EMBEDDER) {
            return Map.of("embedding", Map.of("pooling", d.pooling().teiName()));
        }
        Map<String, Object> id2label = new LinkedHashMap<>();
        Map<String, Object> label2id = new LinkedHashMap<>();
        d.id2label().forEach((id, label) -> {
            id2label.put(Integer.toString(id), label);
            label2id.put(label, id);
        });
        Map<String, Object> labels = new LinkedHashMap<>();
        labels.put("id2label", id2label);
        labels.put("label2id", label2id);
        return Map.of(d.kind() == ModelKind.RERANKER ? "reranker" : "classifier", labels);
    }

    private static Bodies.ModelSummary summary(ServedModel m) {
        var model = m.inference().model();
        var d = model.descriptor();
        EmbedderModel embedder = model instanceof EmbedderModel e ? e : null;
        return new Bodies.ModelSummary(m.name(), m.role(), d.kind().name().toLowerCase(Locale.ROOT), model.device(),
                d.maxInputLength(), embedder != null ? embedder.dimensions() : null, d.dtype(),
                embedder != null ? d.pooling().teiName() : null, embedder != null ? outputs(embedder) : null,
                model.gpuMemoryAtLoad() >= 0 ? model.gpuMemoryAtLoad() : null, m.inference().queueSize());
    }

    private static List<String> outputs(EmbedderModel e) {
        List<String> out = new ArrayList<>();
        for (EmbedOutput o : e.outputs()) {
            out.add(switch (o) {
                case DENSE -> "dense";
                case SPARSE -> "sparse";
                case TOKENS -> e.hasColbert() ? "colbert" : "hidden_states";
            });
        }
        return out;
    }
}
