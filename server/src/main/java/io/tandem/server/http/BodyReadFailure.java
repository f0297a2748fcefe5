package io.tandem.server.http;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request whose body could not be read to its end is the connection's last: its answer says
 * {@code Connection: close} and the connection then ends ({@link FramedHttp1} closes after any
 * answer that says so). Where the body broke off, no one knows where the next request begins.
 */
public final class BodyReadFailure implements Filter {

    public static final BodyReadFailure FILTER = new BodyReadFailure();

    private BodyReadFailure() {
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        Watched[] watched = new Watched[1];
        req.streamFilter(in -> watched[0] = new Watched(in));
        res.beforeSend(() -> {
            if (watched[0] != null && watched[0].failed) {
                res.header(HeaderValues.CONNECTION_CLOSE);
            }
        });
        chain.proceed();
    }

    /** The body stream, remembering whether a read failed. */
    private static final class Watched extends FilterInputStream {
        private boolean failed;

        Watched(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }
    }
}
