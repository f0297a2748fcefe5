package io.tandem.server.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.tandem.server.Tandem;
import io.tandem.server.grpc.tei.EmbedAllRequest;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import io.tandem.server.grpc.tei.EmbedResponse;
import io.tandem.server.grpc.tei.EmbedSparseRequest;
import io.tandem.server.grpc.tei.EncodeRequest;
import io.tandem.server.grpc.tei.InfoGrpc;
import io.tandem.server.grpc.tei.InfoRequest;
import io.tandem.server.grpc.tei.InfoResponse;
import io.tandem.server.grpc.tei.ModelType;
import io.tandem.server.grpc.tei.PredictGrpc;
import io.tandem.server.grpc.tei.PredictPairRequest;
import io.tandem.server.grpc.tei.PredictRequest;
import io.tandem.server.grpc.tei.RerankGrpc;
import io.tandem.server.grpc.tei.RerankRequest;
import io.tandem.server.grpc.tei.RerankResponse;
import io.tandem.server.grpc.tei.RerankStreamRequest;
import io.tandem.server.grpc.tei.SimpleToken;
import io.tandem.server.grpc.tei.TokenizeGrpc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.LogRecord;

import static io.tandem.server.grpc.GrpcTiny.failure;
import static io.tandem.server.grpc.GrpcTiny.ok;
import static io.tandem.server.grpc.GrpcTiny.post;
import static io.tandem.server.grpc.GrpcTiny.stream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Refusals over gRPC: TEI's status code for each kind of error with the message HTTP gives,
 * model-type errors on the single-model ports, deadlines and cancelled calls.
 */
class GrpcErrorsTest {

    static Tandem tandem;
    static ManagedChannel main;
    static ManagedChannel embedPort;
    static ManagedChannel rerankPort;
    static int http;

    @BeforeAll
    static void start() {
        // One input per reranker batch: a 32-text rerank takes 32 model runs, long enough for a deadline to pass.
        tandem = GrpcTiny.start("--embed-grpc-port", "0", "--rerank-grpc-port", "0", "--rerank-max-batch-requests", "1");
        http = tandem.port();
        main = GrpcTiny.channel(tandem.grpcPort());
        embedPort = GrpcTiny.channel(tandem.grpcPort("embed"));
        rerankPort = GrpcTiny.channel(tandem.grpcPort("rerank"));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        GrpcTiny.close(main);
        GrpcTiny.close(embedPort);
        GrpcTiny.close(rerankPort);
        if (tandem != null) {
            tandem.close();
        }
    }

    private static void assertStatus(Status.Code code, String message, Status actual) {
        assertEquals(code, actual.getCode(), String.valueOf(actual));
        assertEquals(message, actual.getDescription());
    }

    /** The error message HTTP gives for the same request, with its status. */
    private static String httpError(int status, String path, Object body) throws Exception {
        GrpcTiny.Http r = post(http, path, body);
        assertEquals(status, r.status(), r.body().toString());
        return r.body().get("error").asText();
    }

    @Test
    void emptyInputIsInvalidArgumentWithHttpsMessage() throws Exception {
        String message = httpError(400, "/embed", Map.of("inputs", ""));
        assertEquals("Input validation error: `inputs` cannot be empty", message);
        var embed = EmbedGrpc.newBlockingStub(main);
        assertStatus(Status.Code.INVALID_ARGUMENT, message,
                failure(() -> embed.embed(EmbedRequest.newBuilder().setInputs("").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, message,
                failure(() -> embed.embedSparse(EmbedSparseRequest.newBuilder().setInputs("").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, message,
                failure(() -> embed.embedAll(EmbedAllRequest.newBuilder().setInputs("").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(400, "/predict", Map.of("inputs", "")),
                failure(() -> PredictGrpc.newBlockingStub(main).predict(PredictRequest.newBuilder().setInputs("").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(400, "/tokenize", Map.of("inputs", "")),
                failure(() -> TokenizeGrpc.newBlockingStub(main).tokenize(EncodeRequest.newBuilder().setInputs("").build())));
    }

    @Test
    void rerankRefusalsAreTeis() throws Exception {
        var rerank = RerankGrpc.newBlockingStub(main);
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(400, "/rerank", Map.of("query", "q", "texts", List.of())),
                failure(() -> rerank.rerank(RerankRequest.newBuilder().setQuery("q").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, "`texts` cannot be empty",
                stream(RerankGrpc.newStub(main)::rerankStream, List.<RerankStreamRequest>of()).status());
        List<String> texts = Collections.nCopies(33, "text");
        assertStatus(Status.Code.INVALID_ARGUMENT, "batch size 33 > maximum allowed batch size 32",
                failure(() -> rerank.rerank(RerankRequest.newBuilder().setQuery("q").addAllTexts(texts).build())));
        assertEquals("batch size 33 > maximum allowed batch size 32",
                httpError(422, "/rerank", Map.of("query", "q", "texts", texts)));
    }

    @Test
    void predictPairTakesOneOrTwoInputs() {
        var predict = PredictGrpc.newBlockingStub(main);
        assertStatus(Status.Code.INVALID_ARGUMENT, "`inputs` must have a single or two elements. Given: 3",
                failure(() -> predict.predictPair(PredictPairRequest.newBuilder().addInputs("a").addInputs("b")
                        .addInputs("c").build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, "`inputs` must have a single or two elements. Given: 0",
                failure(() -> predict.predictPair(PredictPairRequest.getDefaultInstance())));
    }

    @Test
    void validationErrorsCarryHttpsMessages() throws Exception {
        var embed = EmbedGrpc.newBlockingStub(main);
        String tooLong = "fox ".repeat(200);
        // TEI's gRPC takes the message's truncate as it is: false refuses what --auto-truncate would cut.
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(422, "/embed", Map.of("inputs", tooLong, "truncate", false)),
                failure(() -> embed.embed(EmbedRequest.newBuilder().setInputs(tooLong).build())));
        assertEquals(32, embed.embed(EmbedRequest.newBuilder().setInputs(tooLong).setTruncate(true).build())
                .getEmbeddingsCount());
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(422, "/embed", Map.of("inputs", "a", "dimensions", 0)),
                failure(() -> embed.embed(EmbedRequest.newBuilder().setInputs("a").setDimensions(0).build())));
        // uint32's largest value, not a negative int.
        assertStatus(Status.Code.INVALID_ARGUMENT,
                "Input validation error: `dimensions` should be smaller than the maximum embedding dimension.",
                failure(() -> embed.embed(EmbedRequest.newBuilder().setInputs("a").setDimensions(-1).build())));
        assertStatus(Status.Code.INVALID_ARGUMENT, httpError(422, "/embed", Map.of("inputs", "a", "prompt_name", "nope")),
                failure(() -> embed.embed(EmbedRequest.newBuilder().setInputs("a").setPromptName("nope").build())));
    }

    @Test
    void aStreamEndsAtItsFirstFailureInOrder() throws Exception {
        GrpcTiny.Streamed<EmbedResponse> s = stream(EmbedGrpc.newStub(main)::embedStream, List.of(
                EmbedRequest.newBuilder().setInputs("first").build(), EmbedRequest.newBuilder().setInputs("").build(),
                EmbedRequest.newBuilder().setInputs("third").build()));
        assertEquals(1, s.messages().size());
        assertEquals("first".length(), s.messages().getFirst().getMetadata().getComputeChars());
        assertStatus(Status.Code.INVALID_ARGUMENT, "Input validation error: `inputs` cannot be empty", s.status());
    }

    @Test
    void theEmbedPortServesTheEmbedderAlone() throws Exception {
        InfoResponse info = InfoGrpc.newBlockingStub(embedPort).info(InfoRequest.getDefaultInstance());
        assertEquals(ModelType.MODEL_TYPE_EMBEDDING, info.getModelType());
        assertEquals(GrpcTiny.M3_TINY.toString(), info.getModelId());
        assertEquals(EmbedGrpc.newBlockingStub(main).embed(EmbedRequest.newBuilder().setInputs("fox").build())
                        .getEmbeddingsList(),
                EmbedGrpc.newBlockingStub(embedPort).embed(EmbedRequest.newBuilder().setInputs("fox").build())
                        .getEmbeddingsList());
        // TEI's gRPC on an embedding model: FAILED_PRECONDITION with its bare message.
        assertStatus(Status.Code.FAILED_PRECONDITION, "model is not a classifier model", failure(() ->
                RerankGrpc.newBlockingStub(embedPort).rerank(RerankRequest.newBuilder().setQuery("q").addTexts("t").build())));
        assertStatus(Status.Code.FAILED_PRECONDITION, "model is not a classifier model",
                stream(RerankGrpc.newStub(embedPort)::rerankStream,
                        List.of(RerankStreamRequest.newBuilder().setQuery("q").setText("t").build())).status());
        assertStatus(Status.Code.FAILED_PRECONDITION, "Backend error: Model is not a classifier model", failure(() ->
                PredictGrpc.newBlockingStub(embedPort).predict(PredictRequest.newBuilder().setInputs("t").build())));
        assertStatus(Status.Code.FAILED_PRECONDITION, "Backend error: Model is not a classifier model",
                stream(PredictGrpc.newStub(embedPort)::predictStream,
                        List.of(PredictRequest.newBuilder().setInputs("t").build())).status());
        // An empty list is refused first, as TEI does.
        assertStatus(Status.Code.INVALID_ARGUMENT, "`texts` cannot be empty", failure(() ->
                RerankGrpc.newBlockingStub(embedPort).rerank(RerankRequest.newBuilder().setQuery("q").build())));
    }

    @Test
    void theRerankPortServesTheRerankerAlone() throws Exception {
        InfoResponse info = InfoGrpc.newBlockingStub(rerankPort).info(InfoRequest.getDefaultInstance());
        assertEquals(ModelType.MODEL_TYPE_RERANKER, info.getModelType());
        assertEquals(GrpcTiny.RERANKER_TINY.toString(), info.getModelId());
        RerankRequest request = RerankRequest.newBuilder().setQuery("fox?").addTexts("a fox").addTexts("a stock").build();
        assertEquals(RerankGrpc.newBlockingStub(main).rerank(request).getRanksList(),
                RerankGrpc.newBlockingStub(rerankPort).rerank(request).getRanksList());
        assertStatus(Status.Code.FAILED_PRECONDITION, "Backend error: Model is not an embedding model", failure(() ->
                EmbedGrpc.newBlockingStub(rerankPort).embed(EmbedRequest.newBuilder().setInputs("t").build())));
        assertStatus(Status.Code.FAILED_PRECONDITION,
                "Backend error: Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling",
                failure(() -> EmbedGrpc.newBlockingStub(rerankPort).embedSparse(
                        EmbedSparseRequest.newBuilder().setInputs("t").build())));
        // Tokenize there is the reranker's tokenizer, as HTTP's /models/rerank/tokenize.
        JsonNode h = ok(post(http, "/models/rerank/tokenize", Map.of("inputs", "a fox"))).body().get(0);
        List<Integer> ids = TokenizeGrpc.newBlockingStub(rerankPort).tokenize(EncodeRequest.newBuilder()
                .setInputs("a fox").setAddSpecialTokens(true).build()).getTokensList().stream().map(SimpleToken::getId).toList();
        List<Integer> expected = new ArrayList<>();
        h.forEach(t -> expected.add(t.get("id").asInt()));
        assertEquals(expected, ids);
    }

    @Test
    void aPassedDeadlineIsDeadlineExceededAndTheServerGoesOn() throws Exception {
        List<String> texts = Collections.nCopies(32, "a long text about foxes and their dens ".repeat(8));
        RerankRequest big = RerankRequest.newBuilder().setQuery("where do foxes live?").addAllTexts(texts)
                .setTruncate(true).build();
        List<LogRecord> logged = GrpcTiny.logged(() -> {
            Status unary = failure(() -> RerankGrpc.newBlockingStub(main).withDeadlineAfter(1, TimeUnit.MILLISECONDS)
                    .rerank(big));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, unary.getCode(), String.valueOf(unary));
            List<EmbedRequest> many = Collections.nCopies(300, EmbedRequest.newBuilder().setInputs(texts.getFirst())
                    .setTruncate(true).build());
            Status streamed = stream(EmbedGrpc.newStub(main).withDeadlineAfter(5, TimeUnit.MILLISECONDS)::embedStream,
                    many).status();
            assertEquals(Status.Code.DEADLINE_EXCEEDED, streamed.getCode(), String.valueOf(streamed));
            // The abandoned work ends in the core; the server answers the same request in full afterwards.
            RerankResponse after = RerankGrpc.newBlockingStub(main).withDeadlineAfter(60, TimeUnit.SECONDS).rerank(big);
            assertEquals(32, after.getRanksCount());
            Thread.sleep(200); // let the abandoned calls' work finish while the log is watched
        });
        assertEquals(List.of(), logged.stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList());
    }

    @Test
    void aCancelledStreamIsDroppedQuietly() throws Exception {
        CompletableFuture<Status> end = new CompletableFuture<>();
        List<LogRecord> logged = GrpcTiny.logged(() -> {
            var requests = EmbedGrpc.newStub(main).embedStream(new ClientResponseObserver<EmbedRequest, EmbedResponse>() {
                ClientCallStreamObserver<EmbedRequest> call;

                @Override
                public void beforeStart(ClientCallStreamObserver<EmbedRequest> call) {
                    this.call = call;
                }

                @Override
                public void onNext(EmbedResponse value) {
                    call.cancel("client is done", null); // after the first answer, the rest still in flight
                }

                @Override
                public void onError(Throwable t) {
                    end.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    end.complete(Status.OK);
                }
            });
            try {
                for (int i = 0; i < 300; i++) {
                    requests.onNext(EmbedRequest.newBuilder().setInputs("message " + i).build());
                }
            } catch (IllegalStateException cancelledWhileSending) {
                // the first answer came back before the last message went out
            }
            assertEquals(Status.Code.CANCELLED, end.get(60, TimeUnit.SECONDS).getCode());
            Thread.sleep(200);
            assertEquals(32, EmbedGrpc.newBlockingStub(main).embed(EmbedRequest.newBuilder().setInputs("after").build())
                    .getEmbeddingsCount());
        });
        assertEquals(List.of(), logged.stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList());
    }
}
