package io.tandem.server.grpc;

import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.LabelScore;
import io.tandem.models.infer.Request;
import io.tandem.server.grpc.tei.PredictGrpc;
import io.tandem.server.grpc.tei.PredictPairRequest;
import io.tandem.server.grpc.tei.PredictRequest;
import io.tandem.server.grpc.tei.PredictResponse;
import io.tandem.server.grpc.tei.Prediction;
import io.tandem.server.grpc.tei.TruncationDirection;

import java.util.List;

/** tei.v1.Predict: the reranker's /predict for one text or one (text, text_pair) per message. */
final class PredictService extends PredictGrpc.PredictImplBase {

    private final GrpcSurface surface;

    PredictService(GrpcSurface surface) {
        this.surface = surface;
    }

    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> out) {
        Calls.unary(out, surface.executor(), () -> single(request));
    }

    @Override
    public StreamObserver<PredictRequest> predictStream(StreamObserver<PredictResponse> out) {
        return Calls.ordered(out, surface.executor(), r -> single(r).message());
    }

    @Override
    public void predictPair(PredictPairRequest request, StreamObserver<PredictResponse> out) {
        Calls.unary(out, surface.executor(), () -> pair(request));
    }

    @Override
    public StreamObserver<PredictPairRequest> predictPairStream(StreamObserver<PredictResponse> out) {
        return Calls.ordered(out, surface.executor(), r -> pair(r).message());
    }

    private Calls.Reply<PredictResponse> single(PredictRequest r) {
        return predict(List.of(r.getInputs()), r.getTruncate(), r.getTruncationDirection(), r.getRawScores());
    }

    private Calls.Reply<PredictResponse> pair(PredictPairRequest r) {
        if (r.getInputsCount() < 1 || r.getInputsCount() > 2) {
            // TEI's own check and wording (a Validation error without the "Input validation error" prefix).
            throw new InferenceError(InferenceError.Kind.VALIDATION,
                    "`inputs` must have a single or two elements. Given: " + r.getInputsCount());
        }
        return predict(List.copyOf(r.getInputsList()), r.getTruncate(), r.getTruncationDirection(), r.getRawScores());
    }

    private Calls.Reply<PredictResponse> predict(List<String> item, boolean truncate, TruncationDirection direction,
                                                 boolean rawScores) {
        Request.Predict predict = new Request.Predict(List.of(item), false, Wire.truncate(truncate, direction), rawScores);
        Answer<List<List<LabelScore>>> a = surface.classifier().predict(predict);
        PredictResponse.Builder b = PredictResponse.newBuilder().setMetadata(Wire.metadata(a));
        for (LabelScore s : a.value().getFirst()) {
            b.addPredictions(Prediction.newBuilder().setScore(s.score()).setLabel(s.label()));
        }
        return new Calls.Reply<>(b.build(), a);
    }
}
