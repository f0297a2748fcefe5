package io.tandem.models.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Hugging Face hub on loopback with the real hub's URL layout and headers, enough for
 * huggingface_hub's download protocol: the revision listing under /api/models, HEAD and GET
 * under /resolve with X-Repo-Commit and ETag (the git blob sha1), LFS files answered with a 302
 * to a "CDN" path carrying X-Linked-Etag (their sha256) and X-Linked-Size, Range requests
 * answered with 206, and 401/404 with the hub's X-Error-Code. Records every request.
 */
final class FakeHub implements AutoCloseable {

    /** One request as the hub saw it. */
    record Seen(String method, String path, String range, String authorization) {}

    /** A repository at a single commit: the same content for "main" and for its sha. */
    record Repo(String id, String sha, Map<String, byte[]> files, Set<String> lfs) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** When set, every hub request must carry this bearer token, as for a gated model. */
    volatile String requiredToken;
    /** When not 0, every request is answered with this status (an overloaded hub). */
    volatile int failWith;

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A repository holding the files of a local folder (recursively) and any extra ones. */
    Repo add(String id, Path dir, Map<String, byte[]> extra, Set<String> lfs) {
        Map<String, byte[]> files = new TreeMap<>();
        if (dir != null) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.filter(Files::isRegularFile).toList()) {
                    files.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        files.putAll(extra);
        Repo repo = new Repo(id, hex("SHA-1", (id + files.keySet()).getBytes(StandardCharsets.UTF_8)), files, lfs);
        repos.put(id, repo);
        return repo;
    }

    /** The blob name huggingface_hub gives a file: sha256 for LFS files, else the git blob id. */
    static String etag(Repo repo, String file) {
        byte[] content = repo.files().get(file);
        return repo.lfs().contains(file) ? hex("SHA-256", content) : gitBlobId(content);
    }

    List<Seen> seen() {
        return List.copyOf(seen);
    }

    long count(Predicate<Seen> which) {
        return seen.stream().filter(which).count();
    }

    /** Requests for file content or metadata, as opposed to the revision listing. */
    long fileRequests() {
        return count(s -> s.path().contains("/resolve/") || s.path().startsWith("/cdn/"));
    }

    void clear() {
        seen.clear();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            Headers in = ex.getRequestHeaders();
            String auth = in.getFirst("Authorization");
            seen.add(new Seen(ex.getRequestMethod(), path, in.getFirst("Range"), auth));
            if (failWith != 0) {
                error(ex, failWith, null, "hub is down for the test");
                return;
            }
            if (path.startsWith("/cdn/")) {
                cdn(ex, path.substring("/cdn/".length()));
                return;
            }
            if (requiredToken != null && !("Bearer " + requiredToken).equals(auth)) {
                error(ex, 401, "GatedRepo", "Access to this model is restricted. You must have access to it"
                        + " and be authenticated to access it. Please log in.");
                return;
            }
            if (path.startsWith("/api/models/")) {
                listing(ex, path.substring("/api/models/".length()));
            } else {
                resolve(ex, path.substring(1));
            }
        }
    }

    /** {owner}/{name}/revision/{revision} */
    private void listing(HttpExchange ex, String rest) throws IOException {
        String[] parts = rest.split("/", 4);
        if (parts.length != 4 || !parts[2].equals("revision")) {
            error(ex, 404, null, "Not Found");
            return;
        }
        Repo repo = repo(ex, parts[0] + "/" + parts[1], URLDecoder.decode(parts[3], StandardCharsets.UTF_8));
        if (repo == null) {
            return;
        }
        ObjectNode body = JSON.createObjectNode().put("id", repo.id()).put("modelId", repo.id()).put("sha", repo.sha());
        repo.files().keySet().forEach(f -> body.withArray("siblings").addObject().put("rfilename", f));
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /** {owner}/{name}/resolve/{revision}/{path} */
    private void resolve(HttpExchange ex, String rest) throws IOException {
        String[] parts = rest.split("/", 5);
        if (parts.length != 5 || !parts[2].equals("resolve")) {
            error(ex, 404, null, "Not Found");
            return;
        }
        Repo repo = repo(ex, parts[0] + "/" + parts[1], URLDecoder.decode(parts[3], StandardCharsets.UTF_8));
        if (repo == null) {
            return;
        }
        String file = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
        byte[] content = repo.files().get(file);
        if (content == null) {
            error(ex, 404, "EntryNotFound", "Entry not found");
            return;
        }
        Headers out = ex.getResponseHeaders();
        out.set("X-Repo-Commit", repo.sha());
        if (repo.lfs().contains(file)) {
            // The real hub sends LFS files to a CDN: absolute Location, the file's own ETag
            // and size in X-Linked-* (ETag is that of the small pointer file).
            out.set("Location", endpoint() + "/cdn/" + etag(repo, file));
            out.set("X-Linked-Etag", "\"" + etag(repo, file) + "\"");
            out.set("X-Linked-Size", Long.toString(content.length));
            out.set("ETag", "\"" + gitBlobId(("pointer " + file).getBytes(StandardCharsets.UTF_8)) + "\"");
            ex.sendResponseHeaders(302, -1);
            return;
        }
        serve(ex, content, etag(repo, file));
    }

    private void cdn(HttpExchange ex, String sha256) throws IOException {
        for (Repo repo : repos.values()) {
            for (String file : repo.lfs()) {
                if (etag(repo, file).equals(sha256)) {
                    serve(ex, repo.files().get(file), sha256);
                    return;
                }
            }
        }
        error(ex, 404, null, "no such object");
    }

    /** The content, or its tail for {@code Range: bytes=N-}. */
    private static void serve(HttpExchange ex, byte[] content, String etag) throws IOException {
        Headers out = ex.getResponseHeaders();
        out.set("ETag", "\"" + etag + "\"");
        out.set("Accept-Ranges", "bytes");
        if (ex.getRequestMethod().equals("HEAD")) {
            out.set("Content-Length", Long.toString(content.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null) {
            Matcher m = RANGE.matcher(range);
            long from = m.matches() ? Long.parseLong(m.group(1)) : -1;
            if (from < 0 || from >= content.length) {
                out.set("Content-Range", "bytes */" + content.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            byte[] tail = Arrays.copyOfRange(content, (int) from, content.length);
            out.set("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/" + content.length);
            ex.sendResponseHeaders(206, tail.length);
            ex.getResponseBody().write(tail);
            return;
        }
        ex.sendResponseHeaders(200, content.length);
        try (OutputStream body = ex.getResponseBody()) {
            body.write(content);
        }
    }

    private Repo repo(HttpExchange ex, String id, String revision) throws IOException {
        Repo repo = repos.get(id);
        if (repo == null) {
            error(ex, 404, "RepoNotFound", "Repository not found");
            return null;
        }
        if (!revision.equals("main") && !revision.equals(repo.sha())) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return null;
        }
        return repo;
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().set("X-Error-Code", code);
        }
        ex.getResponseHeaders().set("X-Error-Message", message);
        byte[] body = JSON.writeValueAsBytes(Map.of("error", message));
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    /** What git (and the hub, as ETag) names a file: sha1 of "blob {size}\0" + content. */
    static String gitBlobId(byte[] content) {
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = Arrays.copyOf(header, header.length + content.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return hex("SHA-1", all);
    }

    static String hex(String algorithm, byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
