package io.tandem.server.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * --otlp-endpoint against an OTLP/gRPC receiver started here (the collector's TraceService
 * Export): requests over HTTP and gRPC with the caller's traceparent, then Tandem is closed,
 * which flushes its spans, and the received spans are checked.
 */
class TracingTest {

    private static final Path FIXTURES = Path.of("../models/src/test/resources/fixtures").toAbsolutePath().normalize();
    private static final String RERANK_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String EMBED_TRACE = "0af7651916cd43dd8448eb211c80319c";
    private static final String GRPC_TRACE = "5c1c63257de34c67b8b3f1c2a9f0e001";
    private static final String ERROR_TRACE = "7d2c63257de34c67b8b3f1c2a9f0e002";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    /** Every span the receiver got, with its resource's service.name. */
    private record Received(String service, Span span) {
    }

    private static final List<Received> RECEIVED = new CopyOnWriteArrayList<>();
    private static Server receiver;
    private static final Map<String, Integer> STATUS = new java.util.HashMap<>();

    @BeforeAll
    static void sendRequestsThenFlush() throws Exception {
        receiver = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                                       StreamObserver<ExportTraceServiceResponse> out) {
                        for (ResourceSpans rs : request.getResourceSpansList()) {
                            String service = string(rs.getResource().getAttributesList(), "service.name");
                            for (ScopeSpans ss : rs.getScopeSpansList()) {
                                ss.getSpansList().forEach(s -> RECEIVED.add(new Received(service, s)));
                            }
                        }
                        out.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        out.onCompleted();
                    }
                }).build().start();
        Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0",
                "--hostname", "127.0.0.1", "--grpc-port", "0",
                "--embed-model", FIXTURES.resolve("m3-tiny").toString(),
                "--rerank-model", FIXTURES.resolve("reranker-tiny").toString(),
                "--otlp-endpoint", "http://127.0.0.1:" + receiver.getPort(), "--otlp-service-name", "tandem-test"},
                Map.of()));
        try {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            STATUS.put("rerank", post(http, tandem.port(), "/rerank",
                    "{\"query\":\"what is a panda?\",\"texts\":[\"a bear\",\"a city\",\"hi\"]}",
                    "traceparent", "00-" + RERANK_TRACE + "-" + CALLER_SPAN + "-01", "tracestate", "vendor=on"));
            STATUS.put("embed", post(http, tandem.port(), "/models/embed/embed", "{\"inputs\":[\"one\",\"two\"]}",
                    "traceparent", "00-" + EMBED_TRACE + "-" + CALLER_SPAN + "-01"));
            STATUS.put("untraced", post(http, tandem.port(), "/embed", "{\"inputs\":\"alone\"}"));
            STATUS.put("error", post(http, tandem.port(), "/rerank", "{\"query\":\"q\",\"texts\":[]}",
                    "traceparent", "00-" + ERROR_TRACE + "-" + CALLER_SPAN + "-01"));
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", tandem.grpcPort())
                    .usePlaintext().build();
            try {
                Metadata md = new Metadata();
                md.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER),
                        "00-" + GRPC_TRACE + "-" + CALLER_SPAN + "-01");
                EmbedGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                        .embed(EmbedRequest.newBuilder().setInputs("over grpc").build());
            } finally {
                channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        } finally {
            tandem.close(); // flushes the batched spans
        }
    }

    @AfterAll
    static void stopReceiver() throws InterruptedException {
        receiver.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    private static int post(HttpClient http, int port, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void httpRerankSpanIsAChildOfTheCallersSpanWithTeisFields() {
        assertEquals(200, STATUS.get("rerank"));
        List<Received> trace = trace(RERANK_TRACE);
        Span server = only(trace, "POST /rerank");
        assertEquals("tandem-test", trace.getFirst().service());
        assertEquals(CALLER_SPAN, hex(server.getParentSpanId()));
        assertEquals("vendor=on", server.getTraceState());
        assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
        assertEquals("POST", string(server.getAttributesList(), "http.request.method"));
        assertEquals("/rerank", string(server.getAttributesList(), "http.route"));
        assertEquals(200, integer(server.getAttributesList(), "http.response.status_code"));
        assertEquals(3, integer(server.getAttributesList(), "inputs"));
        assertTrue(integer(server.getAttributesList(), "compute_tokens") > 3);
        // query (16 characters) once per text, plus the texts: as TEI's x-compute-characters
        assertEquals(16 * 3 + 6 + 6 + 2, integer(server.getAttributesList(), "compute_chars"));
        for (String field : List.of("total_time", "tokenization_time", "queue_time", "inference_time")) {
            assertTrue(string(server.getAttributesList(), field).matches("[0-9.]+(ns|µs|ms|s)"), field);
        }
        assertChildrenInOrder(trace, server);
        assertEquals(4, trace.size(), trace::toString);
    }

    @Test
    void modelRouteSpanIsNamedByItsRoutePattern() {
        assertEquals(200, STATUS.get("embed"));
        List<Received> trace = trace(EMBED_TRACE);
        Span server = only(trace, "POST /models/{name}/embed");
        assertEquals(CALLER_SPAN, hex(server.getParentSpanId()));
        assertEquals("/models/embed/embed", string(server.getAttributesList(), "url.path"));
        assertEquals(2, integer(server.getAttributesList(), "inputs"));
        assertChildrenInOrder(trace, server);
    }

    @Test
    void grpcCallSpanHonoursTraceparentMetadata() {
        List<Received> trace = trace(GRPC_TRACE);
        Span server = only(trace, "tei.v1.Embed/Embed");
        assertEquals(CALLER_SPAN, hex(server.getParentSpanId()));
        assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
        assertEquals("grpc", string(server.getAttributesList(), "rpc.system"));
        assertEquals(0, integer(server.getAttributesList(), "rpc.grpc.status_code"));
        assertEquals(1, integer(server.getAttributesList(), "inputs"));
        assertChildrenInOrder(trace, server);
    }

    @Test
    void withoutTraceparentARequestStartsItsOwnTrace() {
        assertEquals(200, STATUS.get("untraced"));
        List<Received> roots = RECEIVED.stream().filter(r -> r.span().getName().equals("POST /embed")).toList();
        assertEquals(1, roots.size());
        Span root = roots.getFirst().span();
        assertTrue(root.getParentSpanId().isEmpty());
        for (String known : List.of(RERANK_TRACE, EMBED_TRACE, GRPC_TRACE, ERROR_TRACE)) {
            assertNotEquals(known, hex(root.getTraceId()));
        }
        assertEquals(3, trace(hex(root.getTraceId())).size() - 1); // its three children
    }

    @Test
    void aRefusedRequestHasItsStatusAndNoChildren() {
        assertEquals(400, STATUS.get("error"));
        List<Received> trace = trace(ERROR_TRACE);
        assertEquals(1, trace.size(), trace::toString);
        Span server = only(trace, "POST /rerank");
        assertEquals(400, integer(server.getAttributesList(), "http.response.status_code"));
        // A 4xx is the client's fault: OpenTelemetry leaves the server span's status unset.
        assertEquals(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_UNSET, server.getStatus().getCode());
    }

    @Test
    void rustStyleDurations() {
        assertEquals("95ns", Tracing.rustDuration(Duration.ofNanos(95)));
        assertEquals("870µs", Tracing.rustDuration(Duration.ofNanos(870_000)));
        assertEquals("12.345678ms", Tracing.rustDuration(Duration.ofNanos(12_345_678)));
        assertEquals("1.5s", Tracing.rustDuration(Duration.ofMillis(1500)));
    }

    /** tokenization, queue, inference: children of the server span, one after the other, inside it. */
    private static void assertChildrenInOrder(List<Received> trace, Span server) {
        long at = 0;
        for (String name : List.of("tokenization", "queue", "inference")) {
            Span child = only(trace, name);
            assertEquals(server.getSpanId(), child.getParentSpanId(), name);
            assertEquals(Span.SpanKind.SPAN_KIND_INTERNAL, child.getKind());
            assertTrue(child.getStartTimeUnixNano() >= server.getStartTimeUnixNano(), name + " starts in the request");
            assertTrue(child.getEndTimeUnixNano() <= server.getEndTimeUnixNano(), name + " ends in the request");
            assertTrue(child.getStartTimeUnixNano() >= at, name + " follows the previous step");
            assertTrue(child.getEndTimeUnixNano() >= child.getStartTimeUnixNano());
            at = child.getEndTimeUnixNano();
        }
        assertTrue(only(trace, "inference").getEndTimeUnixNano() > only(trace, "tokenization").getStartTimeUnixNano());
    }

    private static List<Received> trace(String traceId) {
        List<Received> out = new ArrayList<>();
        for (Received r : RECEIVED) {
            if (hex(r.span().getTraceId()).equals(traceId)) {
                out.add(r);
            }
        }
        assertFalse(out.isEmpty(), "no span of trace " + traceId + " among " + RECEIVED.size());
        return out;
    }

    private static Span only(List<Received> trace, String name) {
        List<Span> named = trace.stream().map(Received::span).filter(s -> s.getName().equals(name)).toList();
        assertEquals(1, named.size(), () -> name + " in " + trace.stream().map(r -> r.span().getName()).toList());
        return named.getFirst();
    }

    private static String hex(ByteString id) {
        return HexFormat.of().formatHex(id.toByteArray());
    }

    private static AnyValue attribute(List<KeyValue> attributes, String key) {
        return attributes.stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue).findFirst()
                .orElseThrow(() -> new AssertionError("no attribute " + key + " in " + attributes));
    }

    private static String string(List<KeyValue> attributes, String key) {
        return attribute(attributes, key).getStringValue();
    }

    private static long integer(List<KeyValue> attributes, String key) {
        return attribute(attributes, key).getIntValue();
    }
}
