package io.tandem.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;

/**
 * What /info reports as TEI's {@code sha} and {@code docker_label}. TEI fills both at build time
 * (the git commit, and the image's label in Hugging Face's CI) and leaves them null otherwise;
 * TEI's clients read them as strings, so here they are never null:
 *
 * <ul>
 *   <li>{@code sha}: the commit the jar was built from (tandem-build.properties, written by the
 *       build), else the image's {@code TANDEM_GIT_SHA} (docker/Dockerfile's GIT_SHA build
 *       argument: the Docker build has no .git), else {@value #UNKNOWN}.
 *   <li>{@code dockerLabel}: the image's {@code TANDEM_DOCKER_LABEL} (docker/Dockerfile's
 *       DOCKER_LABEL build argument), else {@value #NOT_DOCKER} for a server not run from the image.
 * </ul>
 */
public record BuildInfo(String sha, String dockerLabel) {

    public static final String UNKNOWN = "unknown";
    public static final String NOT_DOCKER = "none";

    /** Read once at start, from the class path and the process environment. */
    public static BuildInfo load() {
        return load(readProperties().getProperty("git.sha"), System.getenv());
    }

    static BuildInfo load(String builtSha, Map<String, String> env) {
        String imageSha = env.get("TANDEM_GIT_SHA");
        String sha = usable(builtSha) ? builtSha : usable(imageSha) ? imageSha : UNKNOWN;
        String label = env.get("TANDEM_DOCKER_LABEL");
        return new BuildInfo(sha, label != null && !label.isBlank() ? label : NOT_DOCKER);
    }

    /** Not empty, not the build's "unknown", not a property Maven left unfiltered. */
    private static boolean usable(String sha) {
        return sha != null && !sha.isBlank() && !sha.equals(UNKNOWN) && !sha.startsWith("${");
    }

    private static Properties readProperties() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/tandem-build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
