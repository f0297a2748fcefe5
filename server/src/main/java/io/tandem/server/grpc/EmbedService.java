package io.tandem.server.grpc;

import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Request;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.SparseVector;
import io.tandem.server.grpc.tei.EmbedAllRequest;
import io.tandem.server.grpc.tei.EmbedAllResponse;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import io.tandem.server.grpc.tei.EmbedResponse;
import io.tandem.server.grpc.tei.EmbedSparseRequest;
import io.tandem.server.grpc.tei.EmbedSparseResponse;
import io.tandem.server.grpc.tei.SparseValue;
import io.tandem.server.grpc.tei.TokenEmbedding;

import java.util.List;

/** tei.v1.Embed: the embedder's /embed, /embed_sparse and /embed_all, one input per message. */
final class EmbedService extends EmbedGrpc.EmbedImplBase {

    private static final String NOT_AN_EMBEDDER = "Model is not an embedding model";
    private static final String NO_SPARSE = "Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling";

    private final GrpcSurface surface;

    EmbedService(GrpcSurface surface) {
        this.surface = surface;
    }

    @Override
    public void embed(EmbedRequest request, StreamObserver<EmbedResponse> out) {
        Calls.unary(out, surface.executor(), () -> dense(request));
    }

    @Override
    public StreamObserver<EmbedRequest> embedStream(StreamObserver<EmbedResponse> out) {
        return Calls.ordered(out, surface.executor(), r -> dense(r).message());
    }

    @Override
    public void embedSparse(EmbedSparseRequest request, StreamObserver<EmbedSparseResponse> out) {
        Calls.unary(out, surface.executor(), () -> sparse(request));
    }

    @Override
    public StreamObserver<EmbedSparseRequest> embedSparseStream(StreamObserver<EmbedSparseResponse> out) {
        return Calls.ordered(out, surface.executor(), r -> sparse(r).message());
    }

    @Override
    public void embedAll(EmbedAllRequest request, StreamObserver<EmbedAllResponse> out) {
        Calls.unary(out, surface.executor(), () -> all(request));
    }

    @Override
    public StreamObserver<EmbedAllRequest> embedAllStream(StreamObserver<EmbedAllResponse> out) {
        return Calls.ordered(out, surface.executor(), r -> all(r).message());
    }

    /** As /embed: normalize defaults to true when the message leaves it unset (TEI #810). */
    private Calls.Reply<EmbedResponse> dense(EmbedRequest r) {
        Request.Embed embed = new Request.Embed(one(r.getInputs()), Wire.truncate(r.getTruncate(), r.getTruncationDirection()),
                r.hasPromptName() ? r.getPromptName() : null, EmbedOutput.DENSE, !r.hasNormalize() || r.getNormalize(),
                r.hasDimensions() ? Wire.unsigned(r.getDimensions()) : null);
        Answer<List<Embedding>> a = surface.embedder(NOT_AN_EMBEDDER).embed(embed);
        EmbedResponse.Builder b = EmbedResponse.newBuilder().setMetadata(Wire.metadata(a));
        for (float v : a.value().getFirst().dense()) {
            b.addEmbeddings(v);
        }
        return new Calls.Reply<>(b.build(), a);
    }

    private Calls.Reply<EmbedSparseResponse> sparse(EmbedSparseRequest r) {
        Request.Embed embed = new Request.Embed(one(r.getInputs()), Wire.truncate(r.getTruncate(), r.getTruncationDirection()),
                r.hasPromptName() ? r.getPromptName() : null, EmbedOutput.SPARSE, false, null);
        Answer<List<Embedding>> a = surface.embedder(NO_SPARSE).embed(embed);
        EmbedSparseResponse.Builder b = EmbedSparseResponse.newBuilder().setMetadata(Wire.metadata(a));
        SparseVector v = a.value().getFirst().sparse();
        for (int i = 0; i < v.indices().length; i++) {
            b.addSparseEmbeddings(SparseValue.newBuilder().setIndex(v.indices()[i]).setValue(v.values()[i]));
        }
        return new Calls.Reply<>(b.build(), a);
    }

    private Calls.Reply<EmbedAllResponse> all(EmbedAllRequest r) {
        Request.Embed embed = new Request.Embed(one(r.getInputs()), Wire.truncate(r.getTruncate(), r.getTruncationDirection()),
                r.hasPromptName() ? r.getPromptName() : null, EmbedOutput.TOKENS, false, null);
        Answer<List<Embedding>> a = surface.embedder(NOT_AN_EMBEDDER).embed(embed);
        EmbedAllResponse.Builder b = EmbedAllResponse.newBuilder().setMetadata(Wire.metadata(a));
        for (float[] token : a.value().getFirst().tokens()) {
            TokenEmbedding.Builder t = TokenEmbedding.newBuilder();
            for (float v : token) {
                t.addEmbeddings(v);
            }
            b.addTokenEmbeddings(t);
        }
        return new Calls.Reply<>(b.build(), a);
    }

    /** A message holds one text: a single input, not a batch (TEI's te_request_count method "single"). */
    private static Request.Inputs one(String text) {
        return new Request.Inputs(List.of(Request.Input.text(text)), false);
    }
}
