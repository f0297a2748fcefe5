package io.tandem.models.hub;

import java.util.regex.Pattern;

/**
 * A model repository on the hub, {@code owner/name}. Both parts end up in URLs and in the cache
 * folder's name, so only the characters the hub itself allows get through.
 */
public record HubRepo(String owner, String name) {

    // The hub's own rule (huggingface_hub validate_repo_id): letters, digits, '-', '_', '.',
    // starting and ending with a word character, at most 96 each, no "--" or ".." anywhere
    // (the cache folder uses "--" as its separator).
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?");

    public HubRepo {
        if (!valid(owner) || !valid(name)) {
            throw new HubException("'" + owner + "/" + name + "' is not a Hugging Face model id (owner/name)");
        }
    }

    /** Null when the text is not an {@code owner/name} id. */
    public static HubRepo parse(String id) {
        int slash = id.indexOf('/');
        if (slash < 0 || slash != id.lastIndexOf('/')) {
            return null;
        }
        String owner = id.substring(0, slash);
        String name = id.substring(slash + 1);
        return valid(owner) && valid(name) ? new HubRepo(owner, name) : null;
    }

    private static boolean valid(String part) {
        return part != null && PART.matcher(part).matches() && !part.contains("--") && !part.contains("..");
    }

    /** The repository's folder in the hub cache, as huggingface_hub names it. */
    public String cacheFolder() {
        return "models--" + owner + "--" + name;
    }

    public String id() {
        return owner + "/" + name;
    }

    @Override
    public String toString() {
        return id();
    }
}
