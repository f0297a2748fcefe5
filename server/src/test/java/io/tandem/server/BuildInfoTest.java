package io.tandem.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** /info's sha and docker_label: the build's commit, the image's values, never null. */
class BuildInfoTest {

    private static final String SHA = "372a01cd0177cc71ce0d95596d99f7ee929b10aa";

    @Test
    void theBuildsCommitWins() {
        assertEquals(new BuildInfo(SHA, "none"), BuildInfo.load(SHA, Map.of("TANDEM_GIT_SHA", "other")));
    }

    @Test
    void theImageFillsWhatAGitlessBuildCouldNot() {
        // The Docker build copies no .git: the build wrote "unknown", the image's build arguments tell.
        assertEquals(new BuildInfo(SHA, "sha-372a01c"), BuildInfo.load("unknown",
                Map.of("TANDEM_GIT_SHA", SHA, "TANDEM_DOCKER_LABEL", "sha-372a01c")));
    }

    @Test
    void neverNull() {
        assertEquals(new BuildInfo("unknown", "none"), BuildInfo.load(null, Map.of()));
        assertEquals(new BuildInfo("unknown", "none"), BuildInfo.load("${buildNumber}",
                Map.of("TANDEM_GIT_SHA", "", "TANDEM_DOCKER_LABEL", " ")));
    }
}
