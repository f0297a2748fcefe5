package io.tandem.models.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The three hub requests Tandem makes, in the hub's URL layout: the file listing of a revision,
 * a HEAD per file for its ETag and size, and the download with Range to resume. Throws
 * {@link HubException} for answers that retrying will not change (401, 403, 404, nonsense) and
 * IOException for the network or the hub failing, which the caller may answer from the cache.
 */
final class HubClient {

    private static final Logger LOG = Logger.getLogger(HubClient.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER_AGENT = "tandem; java/" + Runtime.version().feature();
    private static final int MAX_REDIRECTS = 10;
    // Blob names come from ETags; anything else could step outside the cache folder.
    private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9._-]{1,200}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");

    /** A revision's commit and the paths of all its files. */
    record Listing(String sha, List<String> files) {}

    /**
     * @param etag the hub's ETag without quotes: the git blob id, or the sha256 for LFS files
     * @param size bytes, or -1 if the hub did not say
     * @param url where the content comes from (a CDN for LFS files)
     */
    record FileMeta(String etag, long size, URI url) {}

    private final HubSettings settings;
    private final URI endpoint;
    // Redirects are followed by hand: the token must not travel to the CDN hosts that LFS
    // files redirect to, and a HEAD must stop at that redirect to read X-Linked-Etag.
    private final HttpClient http;

    HubClient(HubSettings settings) {
        this.settings = settings;
        try {
            this.endpoint = URI.create(settings.endpoint());
        } catch (IllegalArgumentException e) {
            throw new HubException("HF_ENDPOINT is not a URL: " + settings.endpoint());
        }
        if (endpoint.getHost() == null || !List.of("http", "https").contains(String.valueOf(endpoint.getScheme()))) {
            throw new HubException("HF_ENDPOINT is not an http(s) URL: " + settings.endpoint());
        }
        this.http = HttpClient.newBuilder()
                .connectTimeout(settings.timeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    Listing listing(HubRepo repo, String revision) throws IOException {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repo.id() + "/revision/" + encode(revision));
        String what = repo + "@" + revision;
        HttpResponse<String> r = send("GET", uri, null, BodyHandlers.ofString(), false);
        check(r, what, r.body());
        try {
            JsonNode root = JSON.readTree(r.body());
            String sha = root.path("sha").asText("");
            if (!sha.matches("[0-9a-f]{40}")) {
                throw new HubException("the hub at " + settings.endpoint() + " gave no commit sha for " + what
                        + " (is HF_ENDPOINT a Hugging Face hub?)");
            }
            List<String> files = new ArrayList<>();
            for (JsonNode sibling : root.path("siblings")) {
                files.add(sibling.path("rfilename").asText());
            }
            return new Listing(sha, files);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new HubException("the hub at " + settings.endpoint() + " gave an unreadable file list for " + what
                    + " (is HF_ENDPOINT a Hugging Face hub?)", e);
        }
    }

    /** ETag, size and download location of one file at a commit, from a HEAD as huggingface_hub does. */
    FileMeta head(HubRepo repo, String sha, String file) throws IOException {
        URI uri = URI.create(settings.endpoint() + "/" + repo.id() + "/resolve/" + sha + "/" + encodePath(file));
        String what = repo + "@" + sha.substring(0, 8) + " " + file;
        HttpResponse<Void> r = send("HEAD", uri, null, BodyHandlers.discarding(), true);
        boolean redirected = redirect(r.statusCode());
        if (!redirected) {
            check(r, what, null);
        }
        Optional<String> etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag"))
                .map(HubClient::normalizeEtag);
        if (etag.isEmpty() || !SAFE_ETAG.matcher(etag.get()).matches()) {
            throw new HubException("the hub at " + settings.endpoint() + " gave no usable ETag for " + what
                    + " (is HF_ENDPOINT a Hugging Face hub or mirror?)");
        }
        // A redirect's own Content-Length is that of the redirect's body, not of the file.
        Optional<String> size = r.headers().firstValue("X-Linked-Size")
                .or(() -> redirected ? Optional.empty() : r.headers().firstValue("Content-Length"));
        URI url = redirected ? r.uri().resolve(r.headers().firstValue("Location").orElseThrow()) : r.uri();
        return new FileMeta(etag.get(), size.map(HubClient::parseSize).orElse(-1L), url);
    }

    /**
     * Downloads into {@code partial}, continuing after the bytes already there with
     * {@code Range: bytes=N-}; starts over if the server sends the whole file instead.
     */
    void download(FileMeta meta, String label, Path partial) throws IOException {
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        if (meta.size() >= 0 && have > meta.size()) {
            Files.delete(partial);
            have = 0;
        }
        if (have > 0 && have == meta.size()) {
            return;
        }
        HttpResponse<InputStream> r = send("GET", meta.url(), have > 0 ? "bytes=" + have + "-" : null,
                BodyHandlers.ofInputStream(), false);
        boolean append = false;
        try (InputStream in = r.body()) {
            if (r.statusCode() == 416 && have > 0) {
                // The part on disk does not fit the file the hub has now: start over.
                LOG.info(label + ": the hub refused to resume at byte " + have + "; downloading from the start");
                in.close();
                Files.delete(partial);
                download(meta, label, partial);
                return;
            }
            check(r, label, null);
            if (r.statusCode() == 206) {
                Matcher range = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
                if (!range.matches() || Long.parseLong(range.group(1)) != have) {
                    throw new IOException(label + ": asked for bytes from " + have + ", got Content-Range '"
                            + r.headers().firstValue("Content-Range").orElse("") + "'");
                }
                append = true;
                LOG.info(label + ": resuming at " + DownloadProgress.size(have));
            } else if (have > 0) {
                LOG.info(label + ": the server sent the whole file instead of resuming; downloading from the start");
                have = 0;
            }
            DownloadProgress progress = new DownloadProgress(label, meta.size(), have);
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING),
                    1 << 20)) {
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    out.write(buffer, 0, n);
                    progress.advance(n);
                }
            }
            progress.finish();
        }
        long got = Files.size(partial);
        if (meta.size() >= 0 && got != meta.size()) {
            throw new IOException(label + ": the connection ended after " + got + " of " + meta.size() + " bytes");
        }
    }

    /** One request, following redirects by hand (only relative ones if {@code onlyRelative}). */
    private <T> HttpResponse<T> send(String method, URI uri, String range, BodyHandler<T> handler, boolean onlyRelative)
            throws IOException {
        for (int hops = 0; ; hops++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                    .timeout(settings.timeout())
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .header("User-Agent", USER_AGENT);
            if (settings.token() != null && sameOrigin(uri)) {
                b.header("Authorization", "Bearer " + settings.token());
            }
            if (range != null) {
                b.header("Range", range);
            }
            HttpResponse<T> r;
            try {
                r = http.send(b.build(), handler);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HubException("interrupted while talking to " + uri.getHost(), e);
            }
            Optional<String> location = r.headers().firstValue("Location");
            if (!redirect(r.statusCode()) || location.isEmpty()) {
                return r;
            }
            URI next;
            try {
                next = URI.create(location.get());
            } catch (IllegalArgumentException e) {
                throw new IOException("bad redirect from " + uri + ": " + location.get());
            }
            if (onlyRelative && next.isAbsolute()) {
                return r;
            }
            if (hops >= MAX_REDIRECTS) {
                throw new IOException("too many redirects from " + uri);
            }
            if (r.body() instanceof InputStream in) {
                in.close();
            }
            uri = uri.resolve(next);
        }
    }

    private boolean sameOrigin(URI uri) {
        return endpoint.getScheme().equalsIgnoreCase(uri.getScheme())
                && endpoint.getHost().equalsIgnoreCase(uri.getHost())
                && port(endpoint) == port(uri);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static boolean redirect(int code) {
        return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    }

    /**
     * 401/403/404 become a HubException saying what to do; other failures (5xx, 429) an
     * IOException, since the cache may still serve.
     */
    private void check(HttpResponse<?> r, String what, String body) throws IOException {
        int code = r.statusCode();
        if (code >= 200 && code < 300) {
            return;
        }
        String errorCode = r.headers().firstValue("X-Error-Code").orElse("");
        String said = r.headers().firstValue("X-Error-Message").or(() -> errorField(body))
                .map(m -> ": " + m).orElse("");
        if (code == 401 || code == 403) {
            String hint = settings.token() == null
                    ? "set HF_TOKEN to a token of an account that may read it"
                    : "the token in use (HF_TOKEN or the token file in HF_HOME) was refused or has no access";
            throw new HubException(what + ": gated or private model (hub answered " + code + said + "); " + hint
                    + ", and accept the model's terms on its hub page if it is gated"
                    + (errorCode.equals("RepoNotFound") ? "; or there is no such model" : ""));
        }
        if (code == 404) {
            throw new HubException((errorCode.equals("EntryNotFound") ? "no such file: " : "no such model or revision: ")
                    + what + " on " + settings.endpoint() + " (hub answered 404" + said + ")");
        }
        throw new IOException("hub answered HTTP " + code + " for " + what + said);
    }

    private static Optional<String> errorField(String body) {
        if (body == null || body.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(body).path("error").asText("")).filter(s -> !s.isBlank());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** huggingface_hub's _normalize_etag: no weak-validator prefix, no quotes. */
    private static String normalizeEtag(String etag) {
        String e = etag.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    private static long parseSize(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** One path segment; the hub wants revisions like refs/pr/1 with the slash escaped. */
    static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            parts.add(encode(part));
        }
        return String.join("/", parts);
    }
}
