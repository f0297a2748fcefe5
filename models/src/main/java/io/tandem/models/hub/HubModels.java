package io.tandem.models.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Turns a model argument into a local model folder: a folder is used as it is, and a Hugging
 * Face id {@code owner/name} is fetched into the huggingface_hub cache (only the files Tandem
 * reads, see {@link HubFiles}) and answered with its snapshot folder. Works from the cache alone
 * when HF_HUB_OFFLINE is set or the hub cannot be reached.
 */
public final class HubModels {

    public static final String DEFAULT_REVISION = "main";

    private static final Logger LOG = Logger.getLogger(HubModels.class.getName());
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    // FileChannel locks are per process: two threads of this JVM locking one blob would throw.
    private static final Object DOWNLOADS = new Object();

    private HubModels() {
    }

    /**
     * The local folder of a model.
     *
     * @param idOrDir an existing folder (returned unchanged) or a hub id {@code owner/name}
     * @param revision branch, tag or commit sha; null or blank for {@value #DEFAULT_REVISION}
     * @throws HubException with a message saying what is wrong and what to do
     */
    public static Path resolve(String idOrDir, String revision, HubSettings settings) {
        Objects.requireNonNull(idOrDir, "idOrDir");
        Path local = existingDir(idOrDir);
        if (local != null) {
            return local;
        }
        HubRepo repo = HubRepo.parse(idOrDir);
        if (repo == null) {
            throw new HubException("'" + idOrDir + "' is neither an existing model folder nor a Hugging Face model id"
                    + " (owner/name)");
        }
        String rev = revision(revision);
        String what = repo + "@" + rev;
        HubCache cache = new HubCache(settings.cacheDir(), repo);
        if (COMMIT.matcher(rev).matches() && HubFiles.complete(cache.snapshot(rev))) {
            // A commit never changes, so its snapshot needs no second look at the hub.
            LOG.info(what + ": using the cached snapshot " + cache.snapshot(rev));
            return cache.snapshot(rev);
        }
        if (settings.offline()) {
            return fromCache(cache, what, rev, "HF_HUB_OFFLINE is set");
        }
        HubClient client = new HubClient(settings);
        HubClient.Listing listing;
        try {
            listing = client.listing(repo, rev);
        } catch (IOException e) {
            LOG.warning(what + ": cannot reach the hub at " + settings.endpoint() + " (" + describe(e)
                    + "); trying the cache");
            return fromCache(cache, what, rev, "the hub at " + settings.endpoint() + " cannot be reached ("
                    + describe(e) + ")");
        }
        List<String> files = HubFiles.select(what, listing.files());
        Path snapshot = cache.snapshot(listing.sha());
        List<String> missing = files.stream().filter(f -> !Files.isRegularFile(snapshot.resolve(f))).toList();
        try {
            if (missing.isEmpty()) {
                LOG.info(what + ": commit " + listing.sha() + ", all " + files.size() + " files cached in " + snapshot);
            } else {
                LOG.info(what + ": commit " + listing.sha() + ", fetching " + missing.size() + " of " + files.size()
                        + " files from " + settings.endpoint() + " into " + snapshot);
                for (String file : missing) {
                    fetch(client, cache, repo, listing.sha(), file);
                }
            }
            // Written last, so that offline the ref always leads to a complete snapshot.
            if (!rev.equals(listing.sha())) {
                cache.writeRef(rev, listing.sha());
            }
        } catch (IOException e) {
            throw new HubException(what + ": download into " + cache.repoDir() + " failed (" + describe(e)
                    + "); run again to resume", e);
        }
        return snapshot;
    }

    private static void fetch(HubClient client, HubCache cache, HubRepo repo, String sha, String file)
            throws IOException {
        String label = repo + " " + file;
        HubClient.FileMeta meta = client.head(repo, sha, file);
        Path blob = cache.blob(meta.etag());
        synchronized (DOWNLOADS) {
            if (Files.isRegularFile(blob)) {
                LOG.info(label + " (" + DownloadProgress.size(meta.size()) + "): already in the cache");
            } else {
                try (HubCache.Lock ignored = cache.lock(meta.etag())) {
                    // Another process may have finished it while this one waited for the lock.
                    if (!Files.isRegularFile(blob)) {
                        LOG.info("downloading " + label + " (" + DownloadProgress.size(meta.size()) + ")");
                        Path partial = cache.incomplete(meta.etag());
                        Files.createDirectories(partial.getParent());
                        client.download(meta, label, partial);
                        verify(partial, meta.etag(), label);
                        Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);
                    }
                }
            }
        }
        cache.link(sha, file, blob);
    }

    /**
     * LFS files carry their sha256 as ETag: checking it catches a resumed download that was
     * stitched from two different versions of a file. (Small git files are fetched in one go.)
     */
    private static void verify(Path file, String etag, String label) throws IOException {
        if (!SHA256.matcher(etag).matches()) {
            return;
        }
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(etag)) {
            Files.delete(file);
            throw new HubException(label + ": downloaded content has sha256 " + actual + ", the hub said " + etag
                    + "; the partial file was deleted, run again to download it afresh");
        }
    }

    private static Path fromCache(HubCache cache, String what, String rev, String why) {
        Optional<String> sha = COMMIT.matcher(rev).matches() ? Optional.of(rev)
                : cache.readRef(rev).filter(s -> COMMIT.matcher(s).matches());
        if (sha.isPresent() && HubFiles.complete(cache.snapshot(sha.get()))) {
            Path snapshot = cache.snapshot(sha.get());
            LOG.info(what + ": " + why + "; using the cached snapshot " + snapshot);
            return snapshot;
        }
        throw new HubException(what + " is not in the hub cache " + cache.repoDir() + (sha.isPresent()
                ? " (its snapshot " + sha.get() + " lacks config.json, tokenizer.json or the ONNX graph)" : "")
                + " and " + why + "; run once with network access to fetch it, or point HF_HUB_CACHE or HF_HOME"
                + " at a cache that has it");
    }

    private static Path existingDir(String idOrDir) {
        try {
            Path path = Path.of(idOrDir);
            return Files.isDirectory(path) ? path : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /** The revision, which also names a file under refs/: no empty, "." or ".." parts. */
    static String revision(String revision) {
        String rev = revision == null || revision.isBlank() ? DEFAULT_REVISION : revision.trim();
        for (String part : rev.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.contains("\\")
                    || part.chars().anyMatch(Character::isISOControl)) {
                throw new HubException("'" + rev + "' is not a revision (a branch, tag or commit sha)");
            }
        }
        return rev;
    }

    // java.net.http often throws ConnectException without a message.
    private static String describe(IOException e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
