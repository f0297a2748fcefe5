package io.tandem.server.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.AbstractStub;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.MetadataUtils;
import io.tandem.server.Tandem;
import io.tandem.server.grpc.tei.DecodeRequest;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import io.tandem.server.grpc.tei.EncodeRequest;
import io.tandem.server.grpc.tei.InfoGrpc;
import io.tandem.server.grpc.tei.InfoRequest;
import io.tandem.server.grpc.tei.PredictGrpc;
import io.tandem.server.grpc.tei.PredictRequest;
import io.tandem.server.grpc.tei.RerankGrpc;
import io.tandem.server.grpc.tei.RerankRequest;
import io.tandem.server.grpc.tei.RerankStreamRequest;
import io.tandem.server.grpc.tei.TokenizeGrpc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static io.tandem.server.grpc.GrpcTiny.failure;
import static io.tandem.server.grpc.GrpcTiny.stream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --api-key, --payload-limit, admission and metrics: the same for a gRPC call as for an HTTP request. */
class GrpcAuthAndLimitsTest {

    static final String KEY = "s3cret-key";

    static Tandem tandem;
    static ManagedChannel main;
    static ManagedChannel embedPort;

    @BeforeAll
    static void start() {
        tandem = GrpcTiny.start("--api-key", KEY, "--embed-grpc-port", "0", "--payload-limit", "5000",
                "--rerank-max-concurrent-requests", "2");
        main = GrpcTiny.channel(tandem.grpcPort());
        embedPort = GrpcTiny.channel(tandem.grpcPort("embed"));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        GrpcTiny.close(main);
        GrpcTiny.close(embedPort);
        if (tandem != null) {
            tandem.close();
        }
    }

    private static <S extends AbstractStub<S>> S as(S stub, String authorization) {
        if (authorization == null) {
            return stub;
        }
        Metadata headers = new Metadata();
        headers.put(BearerAuth.AUTHORIZATION, authorization);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    private static void assertUnauthenticated(Status s) {
        assertEquals(Status.Code.UNAUTHENTICATED, s.getCode(), String.valueOf(s));
        assertEquals("No valid auth token", s.getDescription());
    }

    @Test
    void everyServiceWantsTheBearerKey() throws Exception {
        for (ManagedChannel channel : List.of(main, embedPort)) {
            for (String wrong : new String[] {null, "", KEY, "Bearer " + KEY + "x", "Bearer s3cret", "bearer " + KEY}) {
                assertUnauthenticated(failure(() -> as(InfoGrpc.newBlockingStub(channel), wrong)
                        .info(InfoRequest.getDefaultInstance())));
                assertUnauthenticated(failure(() -> as(EmbedGrpc.newBlockingStub(channel), wrong)
                        .embed(EmbedRequest.newBuilder().setInputs("a").build())));
                assertUnauthenticated(failure(() -> as(PredictGrpc.newBlockingStub(channel), wrong)
                        .predict(PredictRequest.newBuilder().setInputs("a").build())));
                assertUnauthenticated(failure(() -> as(RerankGrpc.newBlockingStub(channel), wrong)
                        .rerank(RerankRequest.newBuilder().setQuery("q").addTexts("a").build())));
                assertUnauthenticated(failure(() -> as(TokenizeGrpc.newBlockingStub(channel), wrong)
                        .tokenize(EncodeRequest.newBuilder().setInputs("a").build())));
                assertUnauthenticated(failure(() -> as(TokenizeGrpc.newBlockingStub(channel), wrong)
                        .decode(DecodeRequest.newBuilder().addIds(5).build())));
                assertUnauthenticated(stream(as(EmbedGrpc.newStub(channel), wrong)::embedStream,
                        List.of(EmbedRequest.newBuilder().setInputs("a").build())).status());
                assertUnauthenticated(stream(as(RerankGrpc.newStub(channel), wrong)::rerankStream,
                        List.of(RerankStreamRequest.newBuilder().setQuery("q").setText("a").build())).status());
            }
        }
    }

    @Test
    void theRightKeyIsServed() throws Exception {
        String right = "Bearer " + KEY;
        assertEquals(GrpcTiny.M3_TINY.toString(), as(InfoGrpc.newBlockingStub(main), right)
                .info(InfoRequest.getDefaultInstance()).getModelId());
        assertEquals(32, as(EmbedGrpc.newBlockingStub(embedPort), right)
                .embed(EmbedRequest.newBuilder().setInputs("a").build()).getEmbeddingsCount());
        assertEquals(1, as(RerankGrpc.newBlockingStub(main), right)
                .rerank(RerankRequest.newBuilder().setQuery("q").addTexts("a").build()).getRanksCount());
        assertEquals(2, stream(as(EmbedGrpc.newStub(main), right)::embedStream,
                List.of(EmbedRequest.newBuilder().setInputs("a").build(), EmbedRequest.newBuilder().setInputs("b").build()))
                .ok().size());
    }

    @Test
    void reflectionNeedsNoKeyAndListsTeisServices() throws Exception {
        GrpcTiny.Streamed<ServerReflectionResponse> s = stream(ServerReflectionGrpc.newStub(main)::serverReflectionInfo,
                List.of(ServerReflectionRequest.newBuilder().setListServices("").build()));
        List<String> services = s.ok().getFirst().getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).sorted().toList();
        assertEquals(List.of("grpc.reflection.v1.ServerReflection", "tei.v1.Embed", "tei.v1.Info", "tei.v1.Predict",
                "tei.v1.Rerank", "tei.v1.Tokenize"), services);
    }

    @Test
    void theHttpPayloadLimitCapsEachMessage() throws Exception {
        String big = "x".repeat(6000);
        Status[] refused = new Status[1];
        // A client's oversized message is its error, answered, not a server fault to log with a stack trace.
        assertEquals(List.of(), GrpcTiny.logged(() -> refused[0] = failure(() -> as(EmbedGrpc.newBlockingStub(main),
                "Bearer " + KEY).embed(EmbedRequest.newBuilder().setInputs(big).setTruncate(true).build())))
                .stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList());
        Status s = refused[0];
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode(), String.valueOf(s));
        assertTrue(s.getDescription().startsWith("gRPC message exceeds maximum size 5000: 600"), s.getDescription());
        assertEquals(413, GrpcTiny.post(tandem.port(), "/embed", Map.of("inputs", big), "Authorization", "Bearer " + KEY)
                .status());
        // Just under the limit goes through.
        assertEquals(32, as(EmbedGrpc.newBlockingStub(main), "Bearer " + KEY)
                .embed(EmbedRequest.newBuilder().setInputs("x".repeat(4900)).setTruncate(true).build()).getEmbeddingsCount());
    }

    @Test
    void admissionIsTheCoresAsOverHttp() throws Exception {
        // Three inputs and two permits: both front doors run them in waves, with the same ranking.
        var ranks = as(RerankGrpc.newBlockingStub(main), "Bearer " + KEY)
                .rerank(RerankRequest.newBuilder().setQuery("q").addTexts("a").addTexts("b").addTexts("c").build());
        GrpcTiny.Http h = GrpcTiny.post(tandem.port(), "/rerank", Map.of("query", "q", "texts", List.of("a", "b", "c")),
                "Authorization", "Bearer " + KEY);
        assertEquals(200, h.status());
        assertEquals(3, ranks.getRanksCount());
        for (int i = 0; i < 3; i++) {
            assertEquals(h.body().get(i).get("index").asInt(), ranks.getRanks(i).getIndex(), "rank " + i);
            assertEquals(h.body().get(i).get("score").floatValue(), ranks.getRanks(i).getScore(), "score " + i);
        }
    }

    @Test
    void grpcCallsAreCountedInTheSameMetrics() throws Exception {
        // Metrics labels name the model folder, never its path.
        String series = "te_request_count{model=\"" + GrpcTiny.M3_TINY.getFileName() + "\",method=\"single\"}";
        Function<String, Double> count = body -> {
            for (String line : body.split("\n")) {
                if (line.startsWith(series + " ")) {
                    return Double.parseDouble(line.substring(series.length() + 1).strip());
                }
            }
            return 0.0;
        };
        double before = count.apply(GrpcTiny.get(tandem.port(), "/metrics").body().asText());
        var embed = as(EmbedGrpc.newBlockingStub(main), "Bearer " + KEY);
        for (int i = 0; i < 3; i++) {
            embed.embed(EmbedRequest.newBuilder().setInputs("count me " + i).build());
        }
        List<EmbedRequest> two = new ArrayList<>();
        two.add(EmbedRequest.newBuilder().setInputs("streamed 1").build());
        two.add(EmbedRequest.newBuilder().setInputs("streamed 2").build());
        stream(as(EmbedGrpc.newStub(main), "Bearer " + KEY)::embedStream, two).ok();
        double after = count.apply(GrpcTiny.get(tandem.port(), "/metrics").body().asText());
        assertEquals(before + 5, after, series);
    }
}
