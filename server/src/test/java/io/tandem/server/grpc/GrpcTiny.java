package io.tandem.server.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The gRPC tests' shared pieces: Tandem on the tiny fixtures, a real gRPC channel, the same calls over HTTP. */
final class GrpcTiny {

    static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    static final Path M3_TINY = FIXTURES.resolve("m3-tiny");
    static final Path RERANKER_TINY = FIXTURES.resolve("reranker-tiny");
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private GrpcTiny() {
    }

    /** Both tiny models on CPU, HTTP and gRPC on free ports of 127.0.0.1, with extra flags. */
    static Tandem start(String... extra) {
        List<String> args = new ArrayList<>(List.of("--device", "cpu", "--port", "0", "--hostname", "127.0.0.1",
                "--grpc-port", "0", "--embed-model", M3_TINY.toString(), "--rerank-model", RERANKER_TINY.toString()));
        args.addAll(List.of(extra));
        return Tandem.start(Flags.parse(args.toArray(String[]::new), Map.of()));
    }

    static ManagedChannel channel(int port) {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    static void close(ManagedChannel channel) throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** An HTTP answer: status, the x-compute-tokens header (or null) and the JSON body. */
    record Http(int status, String computeTokens, JsonNode body) {
    }

    static Http post(int port, String path, Object body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return answer(HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray()));
    }

    static Http get(int port, String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).GET().build();
        return answer(HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray()));
    }

    private static Http answer(HttpResponse<byte[]> r) throws IOException {
        boolean json = r.headers().firstValue("content-type").orElse("").startsWith("application/json");
        JsonNode body = json ? JSON.readTree(r.body()) : JSON.getNodeFactory().textNode(new String(r.body()));
        return new Http(r.statusCode(), r.headers().firstValue("x-compute-tokens").orElse(null), body);
    }

    static Http ok(Http r) {
        assertEquals(200, r.status(), r.body().toString());
        return r;
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).floatValue();
        }
        return out;
    }

    static float[] floats(List<Float> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    /** What a streaming call gave: its messages in arrival order, and how it ended. */
    record Streamed<R>(List<R> messages, Status status) {
        List<R> ok() {
            assertEquals(Status.Code.OK, status.getCode(), String.valueOf(status));
            return messages;
        }
    }

    /** Sends every request on one stream, half-closes, and waits for the end of the answer. */
    static <Q, R> Streamed<R> stream(Function<StreamObserver<R>, StreamObserver<Q>> call, List<Q> requests)
            throws Exception {
        List<R> received = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Status> end = new CompletableFuture<>();
        StreamObserver<Q> in = call.apply(new StreamObserver<>() {
            @Override
            public void onNext(R value) {
                received.add(value);
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
        for (Q q : requests) {
            in.onNext(q);
        }
        in.onCompleted();
        Status status = end.get(120, TimeUnit.SECONDS);
        return new Streamed<>(List.copyOf(received), status);
    }

    /** The status a failed blocking call ended with. */
    static Status failure(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
        throw new AssertionError("the call succeeded");
    }

    /** Warnings and stack traces logged while {@code work} runs. */
    static List<LogRecord> logged(ThrowingRunnable work) throws Exception {
        List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue() || r.getThrown() != null) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(handler);
        try {
            work.run();
        } finally {
            root.removeHandler(handler);
        }
        return List.copyOf(records);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
