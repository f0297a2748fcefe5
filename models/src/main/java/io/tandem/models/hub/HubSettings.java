package io.tandem.models.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where and how to reach the Hugging Face hub, read from the same environment variables as
 * huggingface_hub so that Tandem shares the cache with Python tools. Built from an explicit map
 * so tests never depend on the real environment.
 *
 * @param endpoint hub base URL without a trailing slash (HF_ENDPOINT, for mirrors)
 * @param cacheDir the hub cache holding {@code models--owner--name} folders (HF_HUB_CACHE)
 * @param token bearer token for gated or private models; null for none
 * @param offline never touch the network, use the cache only (HF_HUB_OFFLINE)
 * @param timeout connect timeout and the wait for response headers on each request
 */
public record HubSettings(String endpoint, Path cacheDir, String token, boolean offline, Duration timeout) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    // huggingface_hub's reading of boolean variables (constants._is_true).
    private static final Set<String> TRUE = Set.of("1", "on", "yes", "true");

    public HubSettings {
        endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    }

    /** The settings of this process's environment. */
    public static HubSettings fromEnv() {
        return fromEnv(System.getenv());
    }

    /**
     * HF_ENDPOINT, HF_HOME (default {@code $XDG_CACHE_HOME/huggingface} or
     * {@code ~/.cache/huggingface}), HF_HUB_CACHE (default {@code $HF_HOME/hub}; the older
     * HUGGINGFACE_HUB_CACHE too), HF_TOKEN (else the file HF_TOKEN_PATH, default
     * {@code $HF_HOME/token}, that {@code hf auth login} writes), HF_HUB_OFFLINE, and
     * HF_HUB_ETAG_TIMEOUT in seconds (default 10).
     */
    public static HubSettings fromEnv(Map<String, String> env) {
        String endpoint = nonBlank(env.get("HF_ENDPOINT"), DEFAULT_ENDPOINT);
        Path home = Path.of(nonBlank(env.get("HF_HOME"),
                Path.of(nonBlank(env.get("XDG_CACHE_HOME"), Path.of(System.getProperty("user.home"), ".cache").toString()),
                        "huggingface").toString()));
        Path cache = Path.of(nonBlank(env.get("HF_HUB_CACHE"),
                nonBlank(env.get("HUGGINGFACE_HUB_CACHE"), home.resolve("hub").toString())));
        String token = nonBlank(env.get("HF_TOKEN"), null);
        if (token == null) {
            token = readToken(Path.of(nonBlank(env.get("HF_TOKEN_PATH"), home.resolve("token").toString())));
        }
        boolean offline = TRUE.contains(nonBlank(env.get("HF_HUB_OFFLINE"), "").trim().toLowerCase(Locale.ROOT));
        Duration timeout = Duration.ofSeconds(10);
        String seconds = env.get("HF_HUB_ETAG_TIMEOUT");
        if (seconds != null && !seconds.isBlank()) {
            try {
                timeout = Duration.ofMillis((long) (Double.parseDouble(seconds.trim()) * 1000));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("HF_HUB_ETAG_TIMEOUT is not a number of seconds: " + seconds);
            }
        }
        return new HubSettings(endpoint, cache, token, offline, timeout);
    }

    private static String readToken(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return nonBlank(Files.readString(file).trim(), null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Hugging Face token file " + file, e);
        }
    }

    private static String nonBlank(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    /** Hides the token, so that logging the settings never leaks it. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token="
                + (token == null ? "none" : "set") + ", offline=" + offline + ", timeout=" + timeout + "]";
    }
}
