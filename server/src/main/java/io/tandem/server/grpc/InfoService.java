package io.tandem.server.grpc;

import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.InferenceSettings;
import io.tandem.server.BuildInfo;
import io.tandem.server.core.ServedModel;
import io.tandem.server.grpc.tei.InfoGrpc;
import io.tandem.server.grpc.tei.InfoRequest;
import io.tandem.server.grpc.tei.InfoResponse;
import io.tandem.server.grpc.tei.ModelType;

/** tei.v1.Info: TEI's fields of /info for the listener's primary model. */
final class InfoService extends InfoGrpc.InfoImplBase {

    /**
     * The TEI release whose API is served, as /info's {@code version} (http.InfoRoutes.TEI_VERSION,
     * which is not visible here; GrpcApiTest pins the two equal).
     */
    static final String TEI_VERSION = "1.9.3";

    private final GrpcSurface surface;
    private final BuildInfo build = BuildInfo.load();

    InfoService(GrpcSurface surface) {
        this.surface = surface;
    }

    @Override
    public void info(InfoRequest request, StreamObserver<InfoResponse> out) {
        Calls.unary(out, surface.executor(), () -> new Calls.Reply<>(info(surface.primary()), null));
    }

    private InfoResponse info(ServedModel m) {
        var model = m.inference().model();
        var d = model.descriptor();
        InferenceSettings limits = m.inference().settings();
        InfoResponse.Builder b = InfoResponse.newBuilder()
                .setVersion(TEI_VERSION)
                .setSha(build.sha())
                .setDockerLabel(build.dockerLabel())
                .setModelId(m.name())
                .setModelDtype(d.dtype())
                .setModelType(switch (d.kind()) {
                    case EMBEDDER -> ModelType.MODEL_TYPE_EMBEDDING;
                    case RERANKER -> ModelType.MODEL_TYPE_RERANKER;
                    case CLASSIFIER -> ModelType.MODEL_TYPE_CLASSIFIER;
                })
                .setMaxConcurrentRequests(limits.maxConcurrentRequests())
                .setMaxInputLength(d.maxInputLength())
                .setMaxBatchTokens(limits.maxBatchTokens())
                .setMaxClientBatchSize(limits.maxClientBatchSize())
                .setTokenizationWorkers(surface.tokenizationWorkers());
        if (m.settings().revision() != null) {
            b.setModelSha(m.settings().revision());
        }
        if (m.settings().maxBatchRequests() != null) {
            b.setMaxBatchRequests(m.settings().maxBatchRequests());
        }
        return b.build();
    }
}
