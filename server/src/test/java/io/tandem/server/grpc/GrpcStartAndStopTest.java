package io.tandem.server.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.tandem.server.Tandem;
import io.tandem.server.config.FlagException;
import io.tandem.server.config.Flags;
import io.tandem.server.config.ServerConfig;
import io.tandem.server.grpc.tei.EmbedGrpc;
import io.tandem.server.grpc.tei.EmbedRequest;
import io.tandem.server.grpc.tei.InfoGrpc;
import io.tandem.server.grpc.tei.InfoRequest;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;

import static io.tandem.server.grpc.GrpcTiny.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The three gRPC port flags, and the listeners' start and stop with Tandem. */
class GrpcStartAndStopTest {

    @Test
    void portFlagsAreServerFlagsOffByDefault() {
        ServerConfig none = Flags.parse(new String[0], Map.of());
        assertNull(none.grpcPort());
        assertNull(none.embedGrpcPort());
        assertNull(none.rerankGrpcPort());
        ServerConfig set = Flags.parse(new String[] {"--grpc-port", "50051", "--embed-grpc-port=50052"},
                Map.of("RERANK_GRPC_PORT", "50053", "GRPC_PORT", "1"));
        assertEquals(50051, set.grpcPort()); // the command line wins over the environment
        assertEquals(50052, set.embedGrpcPort());
        assertEquals(50053, set.rerankGrpcPort());
        assertEquals("--grpc-port: expected a port number 0..65535, got '70000'",
                assertThrows(FlagException.class, () -> Flags.parse(new String[] {"--grpc-port", "70000"}, Map.of()))
                        .getMessage());
        assertEquals("unknown flag --embed-embed-grpc-port", assertThrows(FlagException.class,
                () -> Flags.parse(new String[] {"--embed-embed-grpc-port", "1"}, Map.of())).getMessage());
        String help = Flags.help();
        for (String env : List.of("GRPC_PORT", "EMBED_GRPC_PORT", "RERANK_GRPC_PORT")) {
            String flag = env.toLowerCase().replace('_', '-');
            assertTrue(help.contains("--" + flag + " <PORT>"), flag);
            assertTrue(help.contains("[env: " + env + "] [default: off]"), flag);
        }
    }

    @Test
    void aModelGrpcPortNeedsItsModel() {
        var config = Flags.parse(new String[] {"--device", "cpu", "--port", "0", "--hostname", "127.0.0.1",
                "--embed-model", GrpcTiny.M3_TINY.toString(), "--rerank-grpc-port", "0"}, Map.of());
        assertEquals("--rerank-grpc-port is set but no rerank model is loaded",
                assertThrows(IllegalArgumentException.class, () -> Tandem.start(config)).getMessage());
    }

    @Test
    void aTakenPortStopsTheStart() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> GrpcTiny.start("--grpc-port", Integer.toString(port)));
            assertEquals("cannot listen for gRPC on 127.0.0.1:" + port + " (is the port in use?)", e.getMessage());
        }
    }

    @Test
    void closeStopsTheGrpcListeners() throws Exception {
        Tandem tandem = GrpcTiny.start("--embed-grpc-port", "0", "--shutdown-grace-period", "1");
        ManagedChannel main = GrpcTiny.channel(tandem.grpcPort());
        ManagedChannel embed = GrpcTiny.channel(tandem.grpcPort("embed"));
        try {
            assertEquals(GrpcTiny.M3_TINY.toString(),
                    InfoGrpc.newBlockingStub(main).info(InfoRequest.getDefaultInstance()).getModelId());
            assertEquals(32, EmbedGrpc.newBlockingStub(embed).embed(EmbedRequest.newBuilder().setInputs("a").build())
                    .getEmbeddingsCount());
            tandem.close();
            for (ManagedChannel c : List.of(main, embed)) {
                Status s = failure(() -> InfoGrpc.newBlockingStub(c).info(InfoRequest.getDefaultInstance()));
                assertEquals(Status.Code.UNAVAILABLE, s.getCode(), String.valueOf(s));
            }
        } finally {
            GrpcTiny.close(main);
            GrpcTiny.close(embed);
        }
    }
}
