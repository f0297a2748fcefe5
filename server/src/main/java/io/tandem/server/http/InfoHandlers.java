package io.tandem.server.http;

import io.tandem.models.ModelKind;
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
final class InfoHandlers {

    static final String TEI_VERSION = "1.9.3";

    private final ServerInfo server;
    private final MetricsRegistry registry;
    private final byte[] openApi;

    /** Server-wide facts /info reports next to the model's. */
    record ServerInfo(int maxConcurrentRequests, int tokenizationWorkers, String version) {
    }

    InfoHandlers(ServerInfo server, MetricsRegistry registry) {
        this.server = server;
        this.registry = registry;
        try (InputStream in = InfoHandlers.class.getResourceAsStream("/openapi.json")) {
            this.openApi = in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void info(ServerRequest req, ServerResponse res, Surface surface) {
        ServedModel m = surface.primary();
        Map<String, Object> info = teiInfo(m);
        if (surface.embedder() != null && surface.reranker() != null || surface.biEncoderRerank()) {
            info.put("rerank_mode", surface.reranker() != null ? "cross-encoder" : "bi-encoder");
            List<Map<String, Object>> models = new ArrayList<>();
            for (ServedModel s : new ServedModel[] {surface.embedder(), surface.reranker()}) {
                if (s != null) {
                    models.add(summary(s));
                }
            }
            info.put("models", models);
        }
        HttpIo.send(res, 200, info);
    }

    void models(ServerRequest req, ServerResponse res, List<ServedModel> all, boolean biEncoder) {
        List<Map<String, Object>> models = new ArrayList<>();
        all.forEach(m -> models.add(summary(m)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("models", models);
        body.put("rerank_mode", all.stream().anyMatch(m -> m.kind() == ModelKind.RERANKER) ? "cross-encoder"
                : biEncoder ? "bi-encoder" : "none");
        HttpIo.send(res, 200, body);
    }

    void health(ServerRequest req, ServerResponse res, Surface surface) {
        for (ServedModel m : new ServedModel[] {surface.embedder(), surface.reranker()}) {
            if (m != null && !m.healthy()) {
                HttpIo.sendError(res, TeiError.unhealthy(), false);
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

    /** TEI's /info keys in TEI's order, then Tandem's additions. */
    private Map<String, Object> teiInfo(ServedModel m) {
        var d = m.model().descriptor();
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("model_id", m.name());
        info.put("model_sha", m.settings().revision());
        info.put("model_dtype", d.dtype());
        info.put("served_model_name", m.name());
        info.put("model_type", modelType(m));
        info.put("max_concurrent_requests", m.settings().maxConcurrentRequests());
        info.put("max_input_length", d.maxInputLength());
        info.put("max_batch_tokens", m.settings().maxBatchTokens());
        info.put("max_batch_requests", m.settings().maxBatchRequests());
        info.put("max_client_batch_size", m.settings().maxClientBatchSize());
        info.put("auto_truncate", m.settings().autoTruncate());
        info.put("tokenization_workers", server.tokenizationWorkers());
        info.put("version", TEI_VERSION);
        info.put("sha", null);
        info.put("docker_label", null);
        info.put("tandem_version", server.version());
        info.put("device", m.model().device());
        if (m.model().fallbackReason() != null) {
            info.put("device_note", m.model().fallbackReason());
        }
        if (m.embedder() != null) {
            info.put("outputs", outputs(m.embedder()));
            info.put("graph_outputs", m.embedder().outputNames());
        }
        if (m.model().gpuMemoryAtLoad() >= 0) {
            info.put("gpu_memory_at_load_bytes", m.model().gpuMemoryAtLoad());
        }
        return info;
    }

    private static Map<String, Object> modelType(ServedModel m) {
        var d = m.model().descriptor();
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

    private static Map<String, Object> summary(ServedModel m) {
        var d = m.model().descriptor();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("name", m.name());
        s.put("role", m.role());
        s.put("kind", d.kind().name().toLowerCase(Locale.ROOT));
        s.put("device", m.model().device());
        s.put("max_input_length", d.maxInputLength());
        s.put("dimensions", m.embedder() != null ? m.embedder().dimensions() : null);
        s.put("dtype", d.dtype());
        if (m.embedder() != null) {
            s.put("pooling", d.pooling().teiName());
            s.put("outputs", outputs(m.embedder()));
        }
        s.put("gpu_memory_at_load_bytes", m.model().gpuMemoryAtLoad() >= 0 ? m.model().gpuMemoryAtLoad() : null);
        s.put("queue_size", m.queueSize());
        return s;
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
