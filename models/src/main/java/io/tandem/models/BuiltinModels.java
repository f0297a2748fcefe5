package io.tandem.models;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model served when none is configured: BAAI bge-small-zh-v1.5, whose ONNX graph and
 * tokenizer ship inside the langchain4j jar on the classpath. ORT needs a file, so the
 * model is laid out once as a Hugging Face folder in a cache directory.
 */
public final class BuiltinModels {

    public static final String BGE_SMALL_ZH = "BAAI/bge-small-zh-v1.5";

    private static final String FOLDER = "bge-small-zh-v1.5";
    private static final String OWN = "/io/tandem/models/builtin/" + FOLDER + "/";

    private BuiltinModels() {
    }

    /** The folder of bge-small-zh-v1.5, extracted under {@code cacheDir} if not yet there. */
    public static synchronized Path bgeSmallZh(Path cacheDir) {
        Path dir = cacheDir.resolve(FOLDER);
        try {
            copy("/bge-small-zh-v1.5.onnx", dir.resolve("model.onnx"));
            copy("/bge-small-zh-v1.5-tokenizer.json", dir.resolve("tokenizer.json"));
            copy(OWN + "config.json", dir.resolve("config.json"));
            copy(OWN + "1_Pooling/config.json", dir.resolve("1_Pooling/config.json"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lay out the built-in model in " + dir, e);
        }
    }

    /** Where built-in models go unless TANDEM_CACHE says otherwise. */
    public static Path defaultCacheDir() {
        String configured = System.getenv("TANDEM_CACHE");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "tandem");
    }

    private static void copy(String resource, Path target) throws IOException {
        URL url = BuiltinModels.class.getResource(resource);
        if (url == null) {
            throw new ModelLoadException("resource " + resource + " is missing from the classpath");
        }
        long size = url.openConnection().getContentLengthLong();
        if (Files.isRegularFile(target) && Files.size(target) == size) {
            return;
        }
        Files.createDirectories(target.getParent());
        // Write beside and move, so a crash mid-copy never leaves a truncated model behind.
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        try (InputStream in = url.openStream()) {
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
