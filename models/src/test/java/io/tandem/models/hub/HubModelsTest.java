package io.tandem.models.hub;

import io.tandem.models.Fixtures;
import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Model;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link HubModels} against {@link FakeHub}, with HF_HOME in a temp folder. */
class HubModelsTest {

    private static final String ID = "tandem/m3-tiny";
    private static final Path FIXTURE = Fixtures.model("m3-tiny");

    @TempDir
    Path home;
    private FakeHub hub;
    private FakeHub.Repo repo;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        // What a real model repo also carries, none of which Tandem should fetch.
        Map<String, byte[]> extra = Map.of(
                "pytorch_model.bin", bytes("torch weights"),
                "model.safetensors", bytes("safetensors weights"),
                "onnx/model.onnx", bytes("a second graph, not preferred over the root one"),
                "README.md", bytes("# m3-tiny"));
        repo = hub.add(ID, FIXTURE, extra, Set.of("model.onnx", "pytorch_model.bin", "model.safetensors",
                "onnx/model.onnx"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private HubSettings settings(String... more) {
        Map<String, String> env = new HashMap<>(Map.of("HF_HOME", home.toString(), "HF_ENDPOINT", hub.endpoint()));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return HubSettings.fromEnv(env);
    }

    private Path repoDir() {
        return home.resolve("hub").resolve("models--tandem--m3-tiny");
    }

    @Test
    void downloadsIntoTheHubCacheLayoutAndLoadsLikeTheFolder() throws IOException {
        Path dir = HubModels.resolve(ID, null, settings());

        assertEquals(repoDir().resolve("snapshots").resolve(repo.sha()), dir);
        assertEquals(repo.sha(), Files.readString(repoDir().resolve("refs/main")));
        for (String file : List.of("config.json", "tokenizer.json", "tokenizer_config.json", "tandem.json", "model.onnx")) {
            Path link = dir.resolve(file);
            assertTrue(Files.isSymbolicLink(link), file);
            assertEquals(Path.of("../../blobs", FakeHub.etag(repo, file)), Files.readSymbolicLink(link), file);
            assertArrayEquals(Files.readAllBytes(FIXTURE.resolve(file)), Files.readAllBytes(link), file);
        }
        // Only what the loader reads: no weights, no README, no second graph, no tokenizer extras.
        try (var listing = Files.walk(dir)) {
            assertEquals(Set.of("config.json", "tokenizer.json", "tokenizer_config.json", "tandem.json", "model.onnx"),
                    Set.copyOf(listing.filter(p -> !Files.isDirectory(p)).map(p -> dir.relativize(p).toString()).toList()));
        }
        assertEquals(0, hub.count(s -> s.path().endsWith(".bin") || s.path().endsWith(".safetensors")
                || s.path().contains("onnx/model.onnx") || s.path().endsWith("README.md")));
        try (var blobs = Files.list(repoDir().resolve("blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }

        String[] texts = {"hello world", "Tandem fetches models from the hub"};
        try (EmbedderModel fromHub = (EmbedderModel) Model.load("hub", dir, cpu());
             EmbedderModel fromFolder = (EmbedderModel) Model.load("folder", FIXTURE, cpu())) {
            for (String text : texts) {
                float[] a = fromHub.embed(List.of(fromHub.tokenizer().encode(text, Truncation.RIGHT)),
                        EnumSet.of(EmbedOutput.DENSE)).getFirst().dense();
                float[] b = fromFolder.embed(List.of(fromFolder.tokenizer().encode(text, Truncation.RIGHT)),
                        EnumSet.of(EmbedOutput.DENSE)).getFirst().dense();
                assertArrayEquals(b, a, text);
            }
        }
    }

    @Test
    void secondResolveAsksOnlyForTheListing() {
        Path first = HubModels.resolve(ID, "main", settings());
        hub.clear();
        Path second = HubModels.resolve(ID, "main", settings());
        assertEquals(first, second);
        assertEquals(0, hub.fileRequests(), hub.seen().toString());
        assertEquals(1, hub.count(s -> s.path().startsWith("/api/models/")));
    }

    @Test
    void aCachedCommitNeedsNoRequestAtAll() {
        HubModels.resolve(ID, null, settings());
        hub.clear();
        Path dir = HubModels.resolve(ID, repo.sha(), settings());
        assertEquals(repoDir().resolve("snapshots").resolve(repo.sha()), dir);
        assertEquals(List.of(), hub.seen());
    }

    @Test
    void offlineUsesTheCacheAndFailsClearlyWithoutIt() {
        Path online = HubModels.resolve(ID, null, settings());
        hub.clear();
        assertEquals(online, HubModels.resolve(ID, null, settings("HF_HUB_OFFLINE", "1")));
        assertEquals(List.of(), hub.seen());

        HubException e = assertThrows(HubException.class,
                () -> HubModels.resolve("tandem/other", null, settings("HF_HUB_OFFLINE", "1")));
        assertTrue(e.getMessage().contains("not in the hub cache") && e.getMessage().contains("HF_HUB_OFFLINE"),
                e.getMessage());
        assertEquals(List.of(), hub.seen());
    }

    @Test
    void anUnreachableHubFallsBackToTheCache() throws IOException {
        Path online = HubModels.resolve(ID, null, settings());
        String closed = "http://127.0.0.1:" + closedPort();
        assertEquals(online, HubModels.resolve(ID, null, settings("HF_ENDPOINT", closed)));

        HubException e = assertThrows(HubException.class,
                () -> HubModels.resolve(ID, "v2", settings("HF_ENDPOINT", closed)));
        assertTrue(e.getMessage().contains("cannot be reached") && e.getMessage().contains("not in the hub cache"),
                e.getMessage());
    }

    @Test
    void aFailingHubFallsBackToTheCache() {
        Path online = HubModels.resolve(ID, null, settings());
        hub.failWith = 503;
        assertEquals(online, HubModels.resolve(ID, null, settings()));
    }

    @Test
    void resumesAPartialBlobWithARangeRequest() throws IOException {
        byte[] onnx = Files.readAllBytes(FIXTURE.resolve("model.onnx"));
        String etag = FakeHub.etag(repo, "model.onnx");
        int have = 100_000;
        Path partial = repoDir().resolve("blobs").resolve(etag + ".incomplete");
        Files.createDirectories(partial.getParent());
        Files.write(partial, Arrays.copyOf(onnx, have));

        Path dir = HubModels.resolve(ID, null, settings());

        assertEquals(1, hub.count(s -> s.method().equals("GET") && ("bytes=" + have + "-").equals(s.range())),
                hub.seen().toString());
        assertArrayEquals(onnx, Files.readAllBytes(repoDir().resolve("blobs").resolve(etag)));
        assertArrayEquals(onnx, Files.readAllBytes(dir.resolve("model.onnx")));
        assertFalse(Files.exists(partial));
    }

    @Test
    void aResumeThatDoesNotAddUpIsDiscarded() throws IOException {
        String etag = FakeHub.etag(repo, "model.onnx");
        Path partial = repoDir().resolve("blobs").resolve(etag + ".incomplete");
        Files.createDirectories(partial.getParent());
        Files.write(partial, new byte[1000]);

        HubException e = assertThrows(HubException.class, () -> HubModels.resolve(ID, null, settings()));
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertFalse(Files.exists(partial));
        assertFalse(Files.exists(repoDir().resolve("refs/main")), "a failed download must not move the ref");

        Path dir = HubModels.resolve(ID, null, settings());
        assertArrayEquals(Files.readAllBytes(FIXTURE.resolve("model.onnx")), Files.readAllBytes(dir.resolve("model.onnx")));
    }

    @Test
    void sendsTheTokenAndExplainsAGatedModel() throws IOException {
        hub.requiredToken = "hf_secret";
        HubException e = assertThrows(HubException.class, () -> HubModels.resolve(ID, null, settings()));
        assertTrue(e.getMessage().contains("gated or private model") && e.getMessage().contains("set HF_TOKEN"),
                e.getMessage());

        HubException wrong = assertThrows(HubException.class,
                () -> HubModels.resolve(ID, null, settings("HF_TOKEN", "hf_wrong")));
        assertTrue(wrong.getMessage().contains("gated or private model")
                && wrong.getMessage().contains("refused or has no access"), wrong.getMessage());

        hub.clear();
        Path dir = HubModels.resolve(ID, null, settings("HF_TOKEN", "hf_secret"));
        assertTrue(Files.isRegularFile(dir.resolve("model.onnx")));
        // Every request to the hub itself carries the token (the CDN is the same host here).
        assertTrue(hub.seen().size() > 1);
        assertTrue(hub.seen().stream().allMatch(s -> "Bearer hf_secret".equals(s.authorization())),
                hub.seen().toString());
    }

    @Test
    void readsTheTokenFileInHfHome() throws IOException {
        hub.requiredToken = "hf_from_file";
        Files.writeString(home.resolve("token"), "hf_from_file\n");
        assertEquals("hf_from_file", settings().token());
        assertTrue(Files.isRegularFile(HubModels.resolve(ID, null, settings()).resolve("model.onnx")));
    }

    @Test
    void unknownModelsAndRevisionsSayWhat() {
        HubException model = assertThrows(HubException.class, () -> HubModels.resolve("tandem/nope", null, settings()));
        assertTrue(model.getMessage().contains("no such model or revision: tandem/nope@main"), model.getMessage());
        HubException revision = assertThrows(HubException.class, () -> HubModels.resolve(ID, "v9", settings()));
        assertTrue(revision.getMessage().contains("no such model or revision: tandem/m3-tiny@v9"), revision.getMessage());
    }

    @Test
    void aRepoWithoutOnnxPointsAtTheExporter() {
        hub.add("tandem/torch-only", null, Map.of("config.json", bytes("{}"), "tokenizer.json", bytes("{}"),
                "model.safetensors", bytes("weights")), Set.of("model.safetensors"));
        HubException e = assertThrows(HubException.class,
                () -> HubModels.resolve("tandem/torch-only", null, settings()));
        assertTrue(e.getMessage().contains("no ONNX graph") && e.getMessage().contains("models/export"), e.getMessage());
        assertEquals(0, hub.fileRequests());
    }

    @Test
    void theOnnxFolderLayoutGetsItsExternalWeights() throws IOException {
        FakeHub.Repo nested = hub.add("tandem/nested", null, Map.of(
                "config.json", bytes("{}"),
                "tokenizer.json", bytes("{}"),
                "1_Pooling/config.json", bytes("{\"pooling_mode_cls_token\": true}"),
                "onnx/model.onnx", bytes("graph"),
                "onnx/model.onnx_data", bytes("external weights"),
                "onnx/model_fp16.onnx", bytes("other graph"),
                "onnx/model_fp16.onnx_data", bytes("other weights"),
                "model.safetensors", bytes("weights")), Set.of("onnx/model.onnx_data", "model.safetensors"));
        Path dir = HubModels.resolve("tandem/nested", null, settings());
        Path blobs = home.resolve("hub/models--tandem--nested/blobs");
        assertEquals(Path.of("../../../blobs", FakeHub.etag(nested, "onnx/model.onnx_data")),
                Files.readSymbolicLink(dir.resolve("onnx/model.onnx_data")));
        assertEquals("external weights", Files.readString(dir.resolve("onnx/model.onnx_data")));
        assertEquals("{\"pooling_mode_cls_token\": true}", Files.readString(dir.resolve("1_Pooling/config.json")));
        assertTrue(Files.isRegularFile(blobs.resolve(FakeHub.etag(nested, "onnx/model.onnx"))));
        assertFalse(Files.exists(dir.resolve("onnx/model_fp16.onnx")));
        assertFalse(Files.exists(dir.resolve("onnx/model_fp16.onnx_data")));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
    }

    @Test
    void revisionsWithSlashesAreEscapedAndStoredAsRefs() throws IOException {
        // The fake hub knows only "main" and the sha; an escaped "refs/pr/1" reaches it as one segment.
        HubException e = assertThrows(HubException.class, () -> HubModels.resolve(ID, "refs/pr/1", settings()));
        assertTrue(e.getMessage().contains("tandem/m3-tiny@refs/pr/1"), e.getMessage());
        assertEquals(1, hub.count(s -> s.path().endsWith("/revision/refs%2Fpr%2F1")), hub.seen().toString());
        assertThrows(HubException.class, () -> HubModels.resolve(ID, "../../etc", settings()));
    }

    @Test
    void aFolderIsUsedAsItIsAndOtherTextIsRefused() {
        assertEquals(FIXTURE, HubModels.resolve(FIXTURE.toString(), null, settings()));
        assertEquals(List.of(), hub.seen());
        HubException e = assertThrows(HubException.class, () -> HubModels.resolve("not a model", null, settings()));
        assertTrue(e.getMessage().contains("neither an existing model folder nor a Hugging Face model id"),
                e.getMessage());
        assertThrows(HubException.class, () -> HubModels.resolve("a/b/c", null, settings()));
        assertThrows(HubException.class, () -> HubModels.resolve("owner/../x", null, settings()));
    }

    @Test
    void settingsComeFromTheGivenEnvironment() {
        HubSettings s = HubSettings.fromEnv(Map.of("HF_HOME", "/x/hf"));
        assertEquals(Path.of("/x/hf/hub"), s.cacheDir());
        assertEquals("https://huggingface.co", s.endpoint());
        assertFalse(s.offline());
        assertEquals(null, s.token());

        HubSettings t = HubSettings.fromEnv(Map.of("HF_HOME", "/x/hf", "HF_HUB_CACHE", "/y/cache",
                "HF_ENDPOINT", "https://hf-mirror.example/", "HF_HUB_OFFLINE", "true", "HF_TOKEN", "hf_abc"));
        assertEquals(Path.of("/y/cache"), t.cacheDir());
        assertEquals("https://hf-mirror.example", t.endpoint());
        assertTrue(t.offline());
        assertEquals("hf_abc", t.token());
        assertFalse(t.toString().contains("hf_abc"));

        assertEquals(Path.of("/xdg/huggingface/hub"), HubSettings.fromEnv(Map.of("XDG_CACHE_HOME", "/xdg")).cacheDir());
    }

    private static ModelOptions cpu() {
        return new ModelOptions(DeviceChoice.CPU, null, null, 1);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
