package io.tandem.server.grpc;

import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.Request;
import io.tandem.models.tokenize.TokenSpan;
import io.tandem.server.grpc.tei.DecodeRequest;
import io.tandem.server.grpc.tei.DecodeResponse;
import io.tandem.server.grpc.tei.EncodeRequest;
import io.tandem.server.grpc.tei.EncodeResponse;
import io.tandem.server.grpc.tei.SimpleToken;
import io.tandem.server.grpc.tei.TokenizeGrpc;

import java.util.List;

/** tei.v1.Tokenize: /tokenize and /decode of the listener's primary model, tokenizer only. */
final class TokenizeService extends TokenizeGrpc.TokenizeImplBase {

    private final GrpcSurface surface;

    TokenizeService(GrpcSurface surface) {
        this.surface = surface;
    }

    @Override
    public void tokenize(EncodeRequest request, StreamObserver<EncodeResponse> out) {
        Calls.unary(out, surface.executor(), () -> new Calls.Reply<>(tokenize(request), null));
    }

    @Override
    public StreamObserver<EncodeRequest> tokenizeStream(StreamObserver<EncodeResponse> out) {
        return Calls.ordered(out, surface.executor(), this::tokenize);
    }

    @Override
    public void decode(DecodeRequest request, StreamObserver<DecodeResponse> out) {
        Calls.unary(out, surface.executor(), () -> new Calls.Reply<>(decode(request), null));
    }

    @Override
    public StreamObserver<DecodeRequest> decodeStream(StreamObserver<DecodeResponse> out) {
        return Calls.ordered(out, surface.executor(), this::decode);
    }

    private EncodeResponse tokenize(EncodeRequest r) {
        Request.Tokenize tokenize = new Request.Tokenize(List.of(r.getInputs()), false, r.getAddSpecialTokens(),
                r.hasPromptName() ? r.getPromptName() : null);
        EncodeResponse.Builder b = EncodeResponse.newBuilder();
        for (TokenSpan t : surface.primary().inference().tokenize(tokenize).getFirst()) {
            SimpleToken.Builder token = b.addTokensBuilder().setId((int) t.id()).setText(t.text()).setSpecial(t.special());
            if (t.start() != null) {
                token.setStart(t.start());
            }
            if (t.stop() != null) {
                token.setStop(t.stop());
            }
        }
        return b.build();
    }

    private DecodeResponse decode(DecodeRequest r) {
        long[] ids = new long[r.getIdsCount()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Integer.toUnsignedLong(r.getIds(i));
        }
        String text = surface.primary().inference().decode(new Request.Decode(List.of(ids), r.getSkipSpecialTokens()))
                .getFirst();
        return DecodeResponse.newBuilder().setText(text).build();
    }
}
