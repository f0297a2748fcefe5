package io.tandem.server.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.tandem.server.Tandem;
import io.tandem.server.grpc.tei.DecodeRequest;
import io.tandem.server.grpc.tei.DecodeResponse;
import io.tandem.server.grpc.tei.EmbedAllRequest;
import io.tandem.server.grpc.tei.EmbedAllResponse;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import io.tandem.server.grpc.tei.EmbedResponse;
import io.tandem.server.grpc.tei.EmbedSparseRequest;
import io.tandem.server.grpc.tei.EmbedSparseResponse;
import io.tandem.server.grpc.tei.EncodeRequest;
import io.tandem.server.grpc.tei.EncodeResponse;
import io.tandem.server.grpc.tei.InfoGrpc;
import io.tandem.server.grpc.tei.InfoRequest;
import io.tandem.server.grpc.tei.InfoResponse;
import io.tandem.server.grpc.tei.ModelType;
import io.tandem.server.grpc.tei.PredictGrpc;
import io.tandem.server.grpc.tei.PredictPairRequest;
import io.tandem.server.grpc.tei.PredictRequest;
import io.tandem.server.grpc.tei.PredictResponse;
import io.tandem.server.grpc.tei.Rank;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static io.tandem.server.grpc.GrpcTiny.floats;
import static io.tandem.server.grpc.GrpcTiny.ok;
import static io.tandem.server.grpc.GrpcTiny.post;
import static io.tandem.server.grpc.GrpcTiny.stream;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tei.v1 RPC through a real gRPC client, unary and streaming, against the same request
 * over HTTP on the same server: the same numbers, tokens and texts come back.
 */
class GrpcApiTest {

    static Tandem tandem;
    static ManagedChannel channel;
    static int http;

    static final String TEXT = "The quick brown fox jumps over the lazy dog";
    static final List<String> TEXTS = List.of("A fox in the forest.", "Stock markets fell today.",
            "Foxes are small omnivorous mammals.");

    @BeforeAll
    static void start() {
        tandem = GrpcTiny.start();
        http = tandem.port();
        channel = GrpcTiny.channel(tandem.grpcPort());
    }

    @AfterAll
    static void stop() throws InterruptedException {
        GrpcTiny.close(channel);
        if (tandem != null) {
            tandem.close();
        }
    }

    @Test
    void grpcListensOnItsOwnPort() {
        assertTrue(tandem.grpcPort() > 0);
        assertTrue(tandem.grpcPort() != http);
        assertEquals(-1, tandem.grpcPort("embed"));
    }

    @Test
    void infoIsHttpInfoOfThePrimaryModel() throws Exception {
        InfoResponse info = InfoGrpc.newBlockingStub(channel).info(InfoRequest.getDefaultInstance());
        JsonNode h = ok(GrpcTiny.get(http, "/info")).body();
        assertEquals(h.get("version").asText(), info.getVersion());
        assertEquals(h.get("model_id").asText(), info.getModelId());
        assertFalse(info.hasModelSha()); // a local folder has no revision; /info says null
        assertTrue(h.get("model_sha").isNull());
        assertEquals(h.get("model_dtype").asText(), info.getModelDtype());
        assertEquals(ModelType.MODEL_TYPE_EMBEDDING, info.getModelType());
        assertTrue(h.get("model_type").has("embedding"));
        assertEquals(h.get("max_concurrent_requests").asInt(), info.getMaxConcurrentRequests());
        assertEquals(h.get("max_input_length").asInt(), info.getMaxInputLength());
        assertEquals(h.get("max_batch_tokens").asInt(), info.getMaxBatchTokens());
        assertFalse(info.hasMaxBatchRequests());
        assertTrue(h.get("max_batch_requests").isNull());
        assertEquals(h.get("max_client_batch_size").asInt(), info.getMaxClientBatchSize());
        assertEquals(h.get("tokenization_workers").asInt(), info.getTokenizationWorkers());
        // Strings as in TEI's CI builds, the same as HTTP's (InfoStrictTest says which).
        assertEquals(h.get("sha").asText(), info.getSha());
        assertEquals("none", info.getDockerLabel());
        assertEquals(512, info.getMaxConcurrentRequests());
        assertEquals(32, info.getMaxClientBatchSize());
    }

    @Test
    void embedIsHttpEmbed() throws Exception {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        EmbedGrpc.EmbedBlockingStub stub = EmbedGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()));
        EmbedResponse r = stub.embed(EmbedRequest.newBuilder().setInputs(TEXT).setTruncate(true).build());
        GrpcTiny.Http h = ok(post(http, "/embed", Map.of("inputs", TEXT, "truncate", true)));
        assertArrayEquals(floats(h.body().get(0)), floats(r.getEmbeddingsList()));
        assertEquals(32, r.getEmbeddingsCount());
        // TEI's Metadata, and the HTTP headers' values as response headers.
        assertEquals(TEXT.length(), r.getMetadata().getComputeChars());
        assertEquals(Long.parseLong(h.computeTokens()), r.getMetadata().getComputeTokens());
        assertTrue(r.getMetadata().getTotalTimeNs() > 0);
        assertTrue(r.getMetadata().getInferenceTimeNs() > 0);
        assertTrue(r.getMetadata().getTotalTimeNs() >= r.getMetadata().getInferenceTimeNs());
        Metadata m = headers.get();
        assertEquals("gpu+optimized", m.get(Metadata.Key.of("x-compute-type", Metadata.ASCII_STRING_MARSHALLER)));
        assertEquals(h.computeTokens(), m.get(Metadata.Key.of("x-compute-tokens", Metadata.ASCII_STRING_MARSHALLER)));
        assertEquals(Integer.toString(TEXT.length()),
                m.get(Metadata.Key.of("x-compute-characters", Metadata.ASCII_STRING_MARSHALLER)));
        for (String timing : List.of("x-compute-time", "x-total-time", "x-tokenization-time", "x-queue-time",
                "x-inference-time")) {
            assertTrue(m.get(Metadata.Key.of(timing, Metadata.ASCII_STRING_MARSHALLER)).matches("\\d+"), timing);
        }
    }

    @Test
    void embedOptionsAreHttpOptions() throws Exception {
        var stub = EmbedGrpc.newBlockingStub(channel);
        // normalize unset means true (TEI #810); false and dimensions as /embed.
        EmbedResponse unset = stub.embed(EmbedRequest.newBuilder().setInputs(TEXT).build());
        EmbedResponse raw = stub.embed(EmbedRequest.newBuilder().setInputs(TEXT).setNormalize(false).build());
        EmbedResponse cut = stub.embed(EmbedRequest.newBuilder().setInputs(TEXT).setDimensions(8).build());
        assertArrayEquals(floats(ok(post(http, "/embed", Map.of("inputs", TEXT))).body().get(0)),
                floats(unset.getEmbeddingsList()));
        assertArrayEquals(floats(ok(post(http, "/embed", Map.of("inputs", TEXT, "normalize", false))).body().get(0)),
                floats(raw.getEmbeddingsList()));
        assertArrayEquals(floats(ok(post(http, "/embed", Map.of("inputs", TEXT, "dimensions", 8))).body().get(0)),
                floats(cut.getEmbeddingsList()));
        assertEquals(8, cut.getEmbeddingsCount());
        double norm = 0;
        for (float v : unset.getEmbeddingsList()) {
            norm += v * v;
        }
        assertEquals(1.0, norm, 1e-5);
    }

    @Test
    void embedSparseIsHttpEmbedSparse() throws Exception {
        EmbedSparseResponse r = EmbedGrpc.newBlockingStub(channel)
                .embedSparse(EmbedSparseRequest.newBuilder().setInputs(TEXT).build());
        JsonNode h = ok(post(http, "/embed_sparse", Map.of("inputs", TEXT))).body().get(0);
        assertEquals(h.size(), r.getSparseEmbeddingsCount());
        assertTrue(h.size() > 0);
        for (int i = 0; i < h.size(); i++) {
            assertEquals(h.get(i).get("index").asInt(), r.getSparseEmbeddings(i).getIndex());
            assertEquals(h.get(i).get("value").floatValue(), r.getSparseEmbeddings(i).getValue());
        }
        assertEquals(TEXT.length(), r.getMetadata().getComputeChars());
    }

    @Test
    void embedAllIsHttpEmbedAll() throws Exception {
        EmbedAllResponse r = EmbedGrpc.newBlockingStub(channel)
                .embedAll(EmbedAllRequest.newBuilder().setInputs(TEXT).build());
        GrpcTiny.Http h = ok(post(http, "/embed_all", Map.of("inputs", TEXT)));
        JsonNode tokens = h.body().get(0);
        assertEquals(tokens.size(), r.getTokenEmbeddingsCount());
        for (int i = 0; i < tokens.size(); i++) {
            assertArrayEquals(floats(tokens.get(i)), floats(r.getTokenEmbeddings(i).getEmbeddingsList()), "token " + i);
        }
    }

    @Test
    void predictIsHttpPredict() throws Exception {
        var stub = PredictGrpc.newBlockingStub(channel);
        PredictResponse single = stub.predict(PredictRequest.newBuilder().setInputs(TEXT).build());
        assertPredictions(ok(post(http, "/predict", Map.of("inputs", TEXT))).body(), single);
        PredictResponse raw = stub.predict(PredictRequest.newBuilder().setInputs(TEXT).setRawScores(true).build());
        assertPredictions(ok(post(http, "/predict", Map.of("inputs", TEXT, "raw_scores", true))).body(), raw);
        PredictResponse pair = stub.predictPair(PredictPairRequest.newBuilder().addInputs("what is a fox?")
                .addInputs(TEXTS.get(0)).build());
        assertPredictions(ok(post(http, "/predict", Map.of("inputs", List.of("what is a fox?", TEXTS.get(0))))).body(),
                pair);
        PredictResponse pairOfOne = stub.predictPair(PredictPairRequest.newBuilder().addInputs(TEXT).build());
        assertEquals(single.getPredictionsList(), pairOfOne.getPredictionsList());
        assertEquals(TEXT.length(), single.getMetadata().getComputeChars());
        assertEquals("what is a fox?".length() + TEXTS.get(0).length(), pair.getMetadata().getComputeChars());
    }

    private static void assertPredictions(JsonNode http, PredictResponse r) {
        assertEquals(http.size(), r.getPredictionsCount());
        for (int i = 0; i < http.size(); i++) {
            assertEquals(http.get(i).get("label").asText(), r.getPredictions(i).getLabel());
            assertEquals(http.get(i).get("score").floatValue(), r.getPredictions(i).getScore());
        }
    }

    @Test
    void rerankIsHttpRerank() throws Exception {
        var stub = RerankGrpc.newBlockingStub(channel);
        for (boolean raw : new boolean[] {false, true}) {
            RerankResponse r = stub.rerank(RerankRequest.newBuilder().setQuery("what is a fox?").addAllTexts(TEXTS)
                    .setRawScores(raw).setReturnText(true).build());
            JsonNode h = ok(post(http, "/rerank", Map.of("query", "what is a fox?", "texts", TEXTS,
                    "raw_scores", raw, "return_text", true))).body();
            assertRanks(h, r.getRanksList());
            assertTrue(r.getRanks(0).hasText());
        }
        RerankResponse noText = stub.rerank(RerankRequest.newBuilder().setQuery("q").addAllTexts(TEXTS).build());
        assertFalse(noText.getRanks(0).hasText());
        long chars = "q".length() * 3L + TEXTS.stream().mapToInt(String::length).sum();
        assertEquals(chars, noText.getMetadata().getComputeChars());
    }

    private static void assertRanks(JsonNode http, List<Rank> ranks) {
        assertEquals(http.size(), ranks.size());
        for (int i = 0; i < http.size(); i++) {
            assertEquals(http.get(i).get("index").asInt(), ranks.get(i).getIndex(), "rank " + i);
            assertEquals(http.get(i).get("score").floatValue(), ranks.get(i).getScore(), "rank " + i);
            assertEquals(http.get(i).get("text").asText(), ranks.get(i).getText(), "rank " + i);
        }
    }

    @Test
    void tokenizeAndDecodeAreHttpTokenizeAndDecode() throws Exception {
        var stub = TokenizeGrpc.newBlockingStub(channel);
        for (boolean special : new boolean[] {true, false}) {
            EncodeResponse r = stub.tokenize(EncodeRequest.newBuilder().setInputs("Füchse, 狐狸!")
                    .setAddSpecialTokens(special).build());
            JsonNode h = ok(post(http, "/tokenize", Map.of("inputs", "Füchse, 狐狸!", "add_special_tokens", special)))
                    .body().get(0);
            assertEquals(h.size(), r.getTokensCount());
            for (int i = 0; i < h.size(); i++) {
                SimpleToken t = r.getTokens(i);
                assertEquals(h.get(i).get("id").asInt(), t.getId());
                assertEquals(h.get(i).get("text").asText(), t.getText());
                assertEquals(h.get(i).get("special").asBoolean(), t.getSpecial());
                assertEquals(h.get(i).get("start").isNull(), !t.hasStart());
                assertEquals(h.get(i).get("start").asInt(), t.getStart());
                assertEquals(h.get(i).get("stop").asInt(), t.getStop());
            }
            assertEquals(special, r.getTokens(0).getSpecial());
        }
        List<Integer> ids = stub.tokenize(EncodeRequest.newBuilder().setInputs(TEXT).setAddSpecialTokens(true).build())
                .getTokensList().stream().map(SimpleToken::getId).toList();
        for (boolean skip : new boolean[] {true, false}) {
            DecodeResponse d = stub.decode(DecodeRequest.newBuilder().addAllIds(ids).setSkipSpecialTokens(skip).build());
            JsonNode h = ok(post(http, "/decode", Map.of("ids", ids, "skip_special_tokens", skip))).body();
            assertEquals(h.get(0).asText(), d.getText());
        }
        assertEquals(TEXT, stub.decode(DecodeRequest.newBuilder().addAllIds(ids).setSkipSpecialTokens(true).build())
                .getText());
    }

    @Test
    void everyStreamAnswersEachMessageAsItsUnaryCall() throws Exception {
        var embed = EmbedGrpc.newStub(channel);
        var blocking = EmbedGrpc.newBlockingStub(channel);
        List<EmbedResponse> dense = stream(embed::embedStream,
                TEXTS.stream().map(t -> EmbedRequest.newBuilder().setInputs(t).build()).toList()).ok();
        List<EmbedSparseResponse> sparse = stream(embed::embedSparseStream,
                TEXTS.stream().map(t -> EmbedSparseRequest.newBuilder().setInputs(t).build()).toList()).ok();
        List<EmbedAllResponse> all = stream(embed::embedAllStream,
                TEXTS.stream().map(t -> EmbedAllRequest.newBuilder().setInputs(t).build()).toList()).ok();
        var predict = PredictGrpc.newStub(channel);
        List<PredictResponse> predictions = stream(predict::predictStream,
                TEXTS.stream().map(t -> PredictRequest.newBuilder().setInputs(t).build()).toList()).ok();
        List<PredictResponse> pairs = stream(predict::predictPairStream,
                TEXTS.stream().map(t -> PredictPairRequest.newBuilder().addInputs("fox?").addInputs(t).build()).toList())
                .ok();
        var tokenize = TokenizeGrpc.newStub(channel);
        List<EncodeResponse> tokens = stream(tokenize::tokenizeStream,
                TEXTS.stream().map(t -> EncodeRequest.newBuilder().setInputs(t).build()).toList()).ok();
        List<DecodeResponse> texts = stream(tokenize::decodeStream, tokens.stream()
                .map(e -> DecodeRequest.newBuilder().addAllIds(e.getTokensList().stream().map(SimpleToken::getId)
                        .toList()).build()).toList()).ok();
        for (int i = 0; i < TEXTS.size(); i++) {
            String t = TEXTS.get(i);
            assertArrayEquals(floats(blocking.embed(EmbedRequest.newBuilder().setInputs(t).build()).getEmbeddingsList()),
                    floats(dense.get(i).getEmbeddingsList()), t);
            assertEquals(t.length(), dense.get(i).getMetadata().getComputeChars());
            assertEquals(blocking.embedSparse(EmbedSparseRequest.newBuilder().setInputs(t).build()).getSparseEmbeddingsList(),
                    sparse.get(i).getSparseEmbeddingsList(), t);
            assertEquals(blocking.embedAll(EmbedAllRequest.newBuilder().setInputs(t).build()).getTokenEmbeddingsList(),
                    all.get(i).getTokenEmbeddingsList(), t);
            assertEquals(PredictGrpc.newBlockingStub(channel).predict(PredictRequest.newBuilder().setInputs(t).build())
                    .getPredictionsList(), predictions.get(i).getPredictionsList(), t);
            assertEquals(PredictGrpc.newBlockingStub(channel).predictPair(PredictPairRequest.newBuilder()
                    .addInputs("fox?").addInputs(t).build()).getPredictionsList(), pairs.get(i).getPredictionsList(), t);
            assertEquals(TokenizeGrpc.newBlockingStub(channel).tokenize(EncodeRequest.newBuilder().setInputs(t).build()),
                    tokens.get(i), t);
            assertEquals(t, texts.get(i).getText());
        }
    }

    @Test
    void rerankStreamRanksItsMessagesAsRerank() throws Exception {
        List<RerankStreamRequest> messages = new ArrayList<>();
        for (String t : TEXTS) {
            // raw_scores and return_text count from the first message only, as in TEI.
            boolean first = messages.isEmpty();
            messages.add(RerankStreamRequest.newBuilder().setQuery("what is a fox?").setText(t)
                    .setReturnText(first).setRawScores(first).build());
        }
        GrpcTiny.Streamed<RerankResponse> s = stream(RerankGrpc.newStub(channel)::rerankStream, messages);
        RerankResponse streamed = s.ok().getFirst();
        assertEquals(1, s.messages().size());
        JsonNode h = ok(post(http, "/rerank", Map.of("query", "what is a fox?", "texts", TEXTS, "raw_scores", true,
                "return_text", true))).body();
        assertRanks(h, streamed.getRanksList());
        long chars = "what is a fox?".length() * 3L + TEXTS.stream().mapToInt(String::length).sum();
        assertEquals(chars, streamed.getMetadata().getComputeChars());
        RerankResponse unary = RerankGrpc.newBlockingStub(channel).rerank(RerankRequest.newBuilder()
                .setQuery("what is a fox?").addAllTexts(TEXTS).setRawScores(true).build());
        assertEquals(unary.getMetadata().getComputeTokens(), streamed.getMetadata().getComputeTokens());
    }

    @Test
    void aThousandMessageStreamIsAnsweredInOrder() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            texts.add("message " + i + " " + "fox ".repeat(i % 17));
        }
        long t0 = System.nanoTime();
        List<EmbedResponse> out = stream(EmbedGrpc.newStub(channel)::embedStream,
                texts.stream().map(t -> EmbedRequest.newBuilder().setInputs(t).build()).toList()).ok();
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(1000, out.size());
        for (int i = 0; i < 1000; i++) {
            assertEquals(texts.get(i).length(), out.get(i).getMetadata().getComputeChars(), "message " + i);
        }
        // Batched with each other, the vectors are still each text's own.
        for (int i = 0; i < 1000; i += 111) {
            float[] expected = floats(ok(post(http, "/embed", Map.of("inputs", texts.get(i)))).body().get(0));
            float[] actual = floats(out.get(i).getEmbeddingsList());
            for (int d = 0; d < expected.length; d++) {
                assertEquals(expected[d], actual[d], 1e-5, "message " + i + " value " + d);
            }
        }
        assertTrue(millis < 60_000, millis + " ms");
    }
}
