package io.tandem.models.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * One repository's folder in the huggingface_hub cache, in the layout that library reads and
 * writes, so Python tools and Tandem share downloads:
 * <pre>
 * models--owner--name/refs/{revision}          the commit sha the revision pointed to
 * models--owner--name/blobs/{etag}             file contents, named by the hub's ETag
 * models--owner--name/blobs/{etag}.incomplete  a download in progress, resumed by Range
 * models--owner--name/snapshots/{sha}/{path}   relative symlink to ../../blobs/{etag}
 * .locks/models--owner--name/{etag}.lock       one downloader per blob
 * </pre>
 */
final class HubCache {

    private static final Logger LOG = Logger.getLogger(HubCache.class.getName());

    private final Path root;
    private final Path repoDir;
    private final HubRepo repo;

    HubCache(Path cacheDir, HubRepo repo) {
        // Absolute, so that snapshot-to-blob links can be made relative.
        this.root = cacheDir.toAbsolutePath().normalize();
        this.repoDir = root.resolve(repo.cacheFolder());
        this.repo = repo;
    }

    Path repoDir() {
        return repoDir;
    }

    Path snapshot(String sha) {
        return repoDir.resolve("snapshots").resolve(sha);
    }

    Path blob(String etag) {
        return repoDir.resolve("blobs").resolve(etag);
    }

    Path incomplete(String etag) {
        return repoDir.resolve("blobs").resolve(etag + ".incomplete");
    }

    Optional<String> readRef(String revision) {
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            return Files.isRegularFile(ref) ? Optional.of(Files.readString(ref).trim()).filter(s -> !s.isEmpty())
                    : Optional.empty();
        } catch (IOException e) {
            LOG.warning("cannot read " + ref + ": " + e);
            return Optional.empty();
        }
    }

    void writeRef(String revision, String sha) throws IOException {
        Path ref = repoDir.resolve("refs").resolve(revision);
        Files.createDirectories(ref.getParent());
        // Write beside and move, so a reader never sees a half-written sha.
        Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp");
        Files.writeString(tmp, sha, StandardCharsets.UTF_8);
        Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Makes {@code snapshots/{sha}/{file}} point at the blob: a relative symlink like
     * huggingface_hub's, or a copy where the file system will not make links (some Windows and
     * network mounts), so the snapshot is always a plain model folder.
     */
    void link(String sha, String file, Path blob) throws IOException {
        Path target = snapshot(sha).resolve(file);
        Files.createDirectories(target.getParent());
        Files.deleteIfExists(target);
        try {
            Files.createSymbolicLink(target, target.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            LOG.fine("cannot symlink " + target + " (" + e + "); copying the blob instead");
            Files.copy(blob, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * An exclusive lock on one blob across processes (two servers starting on one cache must
     * not write the same .incomplete file). Not huggingface_hub's filelock protocol (flock),
     * which Java cannot take; the .incomplete rename stays atomic either way.
     */
    Lock lock(String etag) throws IOException {
        Path file = root.resolve(".locks").resolve(repo.cacheFolder()).resolve(etag + ".lock");
        Files.createDirectories(file.getParent());
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return new Lock(channel, channel.lock());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    record Lock(FileChannel channel, FileLock lock) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }
}
