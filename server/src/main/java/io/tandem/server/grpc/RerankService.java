package io.tandem.server.grpc;

import io.grpc.stub.StreamObserver;
import io.tandem.models.infer.Answer;
import io.tandem.models.infer.Inference;
import io.tandem.models.infer.InferenceError;
import io.tandem.models.infer.Rank;
import io.tandem.models.infer.Request;
import io.tandem.models.infer.Timings;
import io.tandem.server.grpc.tei.RerankGrpc;
import io.tandem.server.grpc.tei.RerankRequest;
import io.tandem.server.grpc.tei.RerankResponse;
import io.tandem.server.grpc.tei.RerankStreamRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

/** tei.v1.Rerank: /rerank, and RerankStream's (query, text) messages ranked together when the stream ends. */
final class RerankService extends RerankGrpc.RerankImplBase {

    private final GrpcSurface surface;

    RerankService(GrpcSurface surface) {
        this.surface = surface;
    }

    @Override
    public void rerank(RerankRequest r, StreamObserver<RerankResponse> out) {
        Calls.unary(out, surface.executor(), () -> {
            Request.Rerank rerank = new Request.Rerank(r.getQuery(), List.copyOf(r.getTextsList()),
                    Wire.truncate(r.getTruncate(), r.getTruncationDirection()), r.getRawScores());
            rerank.requireTexts(); // TEI refuses an empty list before it looks at the model
            Answer<List<Rank>> a = surface.ranker().rerank(rerank);
            RerankResponse.Builder b = RerankResponse.newBuilder().setMetadata(Wire.metadata(a));
            for (Rank rank : a.value()) {
                var entry = b.addRanksBuilder().setIndex(rank.index()).setScore(rank.score());
                if (r.getReturnText()) {
                    entry.setText(r.getTexts(rank.index()));
                }
            }
            return new Calls.Reply<>(b.build(), a);
        });
    }

    /**
     * As TEI: the model type is checked first; each message's (query, text) is scored on its own
     * (they share batches in the queue); raw_scores and return_text come from the first message;
     * the answer ranks them all, with the step times' means over the messages.
     */
    @Override
    public StreamObserver<RerankStreamRequest> rerankStream(StreamObserver<RerankResponse> out) {
        long start = System.nanoTime();
        Inference ranker;
        try {
            ranker = surface.ranker();
        } catch (InferenceError e) {
            out.onError(GrpcErrors.status(e));
            return Calls.ignored();
        }
        RerankStreamRequest[] first = new RerankStreamRequest[1];
        return Calls.gathered(out, surface.executor(), (RerankStreamRequest m) -> {
            if (first[0] == null) {
                first[0] = m; // onNext calls come one at a time, in order
            }
            boolean rawScores = first[0].getRawScores();
            Request.Rerank one = new Request.Rerank(m.getQuery(), List.of(m.getText()),
                    Wire.truncate(m.getTruncate(), m.getTruncationDirection()), rawScores);
            return (Supplier<Scored>) () -> new Scored(m.getText(), ranker.rerank(one));
        }, all -> ranked(all, first[0], start));
    }

    private record Scored(String text, Answer<List<Rank>> answer) {
    }

    private static Calls.Reply<RerankResponse> ranked(List<Scored> all, RerankStreamRequest first, long start) {
        if (all.isEmpty()) {
            throw InferenceError.empty("`texts` cannot be empty");
        }
        List<io.tandem.server.grpc.tei.Rank> ranks = new ArrayList<>(all.size());
        long characters = 0;
        long tokens = 0;
        long tokenization = 0;
        long queue = 0;
        long inference = 0;
        for (int i = 0; i < all.size(); i++) {
            Answer<List<Rank>> a = all.get(i).answer();
            characters += a.characters();
            tokens += a.tokens();
            tokenization += a.timings().tokenization().toNanos();
            queue += a.timings().queue().toNanos();
            inference += a.timings().inference().toNanos();
            var rank = io.tandem.server.grpc.tei.Rank.newBuilder().setIndex(i).setScore(a.value().getFirst().score());
            if (first.getReturnText()) {
                rank.setText(all.get(i).text());
            }
            ranks.add(rank.build());
        }
        // Best first; ties: the higher index first, as TEI's sort-then-reverse and the core's ranking.
        ranks.sort(Comparator.comparingDouble(io.tandem.server.grpc.tei.Rank::getScore)
                .thenComparingInt(io.tandem.server.grpc.tei.Rank::getIndex).reversed());
        int n = all.size();
        Answer<Void> cost = new Answer<>(null, tokens, characters, new Timings(
                Duration.ofNanos(System.nanoTime() - start), Duration.ofNanos(tokenization / n),
                Duration.ofNanos(queue / n), Duration.ofNanos(inference / n)));
        return new Calls.Reply<>(RerankResponse.newBuilder().addAllRanks(ranks).setMetadata(Wire.metadata(cost)).build(),
                cost);
    }
}
