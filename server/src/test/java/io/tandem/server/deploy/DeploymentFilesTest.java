package io.tandem.server.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tandem.server.config.Flags;
import io.tandem.server.metrics.MetricsRegistry;
import io.tandem.server.metrics.TeiMetrics;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docker/: the Dockerfile, compose file and Kubernetes manifests, checked against the build
 * and the server they package. No Docker engine is needed: the files are read as text/YAML.
 */
class DeploymentFilesTest {

    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private static Path root;
    private static List<Instruction> dockerfile;
    private static Set<String> serverEnv;

    /** One Dockerfile instruction, continuation lines joined; {@code stage} is its FROM's alias or index. */
    record Instruction(String stage, String keyword, String args) {}

    @BeforeAll
    static void read() throws IOException {
        root = repositoryRoot();
        dockerfile = parseDockerfile(Files.readString(root.resolve("docker/Dockerfile")));
        serverEnv = new TreeSet<>();
        Matcher m = Pattern.compile("\\[env: ([A-Z0-9_]+)]").matcher(Flags.help());
        while (m.find()) {
            serverEnv.add(m.group(1));
        }
        assertTrue(serverEnv.containsAll(List.of("PORT", "MODEL_ID", "EMBED_GPU_MEM_LIMIT", "RERANK_MODEL")), serverEnv::toString);
        // Read by the hub downloader (HubSettings.fromEnv), as huggingface_hub reads them, not by a flag.
        serverEnv.addAll(List.of("HF_HOME", "HF_HUB_CACHE", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"));
    }

    /** Up from the working directory (the module folder under Maven) to the folder with pom.xml and docker/. */
    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("docker"))) {
                return p;
            }
        }
        throw new AssertionError("no folder with pom.xml and docker/ above " + Path.of("").toAbsolutePath());
    }

    private static List<Instruction> parseDockerfile(String text) {
        List<Instruction> out = new ArrayList<>();
        String stage = null;
        int stages = 0;
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (current.isEmpty() && (t.isEmpty() || t.startsWith("#"))) {
                continue;
            }
            if (t.startsWith("#")) {
                continue; // a comment inside a continued instruction
            }
            if (t.endsWith("\\")) {
                current.append(t, 0, t.length() - 1).append(' ');
                continue;
            }
            current.append(t);
            String full = current.toString().strip();
            current.setLength(0);
            int space = full.indexOf(' ');
            String keyword = full.substring(0, space).toUpperCase();
            String args = full.substring(space + 1).strip();
            if (keyword.equals("FROM")) {
                String[] parts = args.split("\\s+");
                stage = parts.length == 3 && parts[1].equalsIgnoreCase("AS") ? parts[2] : Integer.toString(stages);
                stages++;
            }
            out.add(new Instruction(stage, keyword, args));
        }
        return out;
    }

    private static List<Instruction> all(String keyword) {
        return dockerfile.stream().filter(i -> i.keyword().equals(keyword)).toList();
    }

    private static String finalStage() {
        return dockerfile.getLast().stage();
    }

    /** ENV of the final stage: both the KEY=value (several per line) and the legacy KEY value forms. */
    private static Map<String, String> finalEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        for (Instruction i : all("ENV")) {
            if (!i.stage().equals(finalStage())) {
                continue;
            }
            if (!i.args().contains("=")) {
                String[] kv = i.args().split("\\s+", 2);
                env.put(kv[0], kv[1]);
                continue;
            }
            for (String pair : i.args().split("\\s+")) {
                env.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
            }
        }
        return env;
    }

    /** COPY's sources and destination, without its --flags. */
    private static List<String> copyPaths(Instruction copy) {
        return Stream.of(copy.args().split("\\s+")).filter(a -> !a.startsWith("--")).toList();
    }

    private static String copyFrom(Instruction copy) {
        return Stream.of(copy.args().split("\\s+")).filter(a -> a.startsWith("--from="))
                .map(a -> a.substring("--from=".length())).findFirst().orElse(null);
    }

    // ---- Dockerfile --------------------------------------------------------------------------

    @Test
    void everyCopiedSourceIsInTheBuildContext() throws IOException {
        List<String> ignore = dockerIgnore();
        int copies = 0;
        for (Instruction copy : all("COPY")) {
            if (copyFrom(copy) != null) {
                continue;
            }
            List<String> paths = copyPaths(copy);
            for (String source : paths.subList(0, paths.size() - 1)) {
                assertTrue(Files.exists(root.resolve(source)), "COPY " + source + ": not in the repository");
                assertFalse(ignored(ignore, source), "COPY " + source + ": excluded by .dockerignore");
                copies++;
            }
        }
        assertTrue(copies >= 4, "expected the poms and modules to be copied");
    }

    @Test
    void dockerignoreKeepsBuildOutputAndKitOut() throws IOException {
        List<String> ignore = dockerIgnore();
        for (String p : List.of("server/target", "native/target", "target", ".gpu-kit", "docker/models-data", ".git")) {
            assertTrue(ignored(ignore, p), p + " is not in .dockerignore");
        }
        assertFalse(ignored(ignore, "server/src/main/java"));
    }

    @Test
    void buildStageProducesWhatTheEntrypointRuns() throws IOException {
        List<String> from = all("FROM").stream().map(Instruction::args).toList();
        assertTrue(from.getFirst().matches("maven:\\S*temurin-25\\S* AS build"), from.getFirst());
        assertTrue(from.contains("eclipse-temurin:25-jre AS jre"), from::toString);
        assertEquals("nvidia/cuda:12.9.1-cudnn-runtime-ubuntu24.04", from.getLast());

        String workdir = all("WORKDIR").stream().filter(i -> i.stage().equals("build")).map(Instruction::args)
                .findFirst().orElseThrow();
        assertTrue(all("RUN").stream().anyMatch(i -> i.stage().equals("build") && i.args().contains("mvn -q")
                && i.args().contains("-DskipTests") && i.args().endsWith("package")), "no `mvn -q -DskipTests package`");

        JsonNode entry = JSON.readTree(all("ENTRYPOINT").getLast().args());
        assertEquals(List.of("java", "--enable-native-access=ALL-UNNAMED", "-jar", "/app/tandem.jar"),
                JSON.convertValue(entry, List.class));
        String jar = entry.get(3).asText();

        // What the server module builds: target/tandem.jar with its dependencies in target/lib/.
        String pom = Files.readString(root.resolve("server/pom.xml"));
        assertTrue(pom.contains("<finalName>tandem</finalName>"));
        assertTrue(pom.contains("<classpathPrefix>lib/</classpathPrefix>"));
        assertTrue(pom.contains("<outputDirectory>${project.build.directory}/lib</outputDirectory>"));
        Map<String, String> fromBuild = new HashMap<>();
        for (Instruction copy : all("COPY")) {
            if ("build".equals(copyFrom(copy))) {
                List<String> p = copyPaths(copy);
                fromBuild.put(p.get(0), p.get(1));
            }
        }
        assertEquals(jar, fromBuild.get(workdir + "/server/target/tandem.jar"), fromBuild::toString);
        String appDir = jar.substring(0, jar.lastIndexOf('/'));
        assertEquals(appDir + "/lib", fromBuild.get(workdir + "/server/target/lib"), "lib/ must sit beside the jar");
        assertEquals("/opt/ort", fromBuild.get("/opt/ort"));
    }

    @Test
    void onnxRuntimeAndDjlAreSetUpForOfflineGpuUse() {
        Map<String, String> env = finalEnv();
        assertEquals("/opt/ort", env.get("ONNXRUNTIME_NATIVE_PATH"));
        assertTrue(env.get("LD_LIBRARY_PATH").startsWith("/opt/ort"));
        assertEquals("true", env.get("DJL_OFFLINE"));
        assertEquals("cpu", env.get("RUST_FLAVOR"));
        assertEquals("true", env.get("OPT_OUT_TRACKING"));
        assertNotNull(env.get("DJL_CACHE_DIR"));
        // The two that are server settings must be ones the server reads.
        assertTrue(serverEnv.contains("ONNXRUNTIME_NATIVE_PATH"));
        assertTrue(serverEnv.contains("PORT"));
        assertTrue(all("RUN").stream().anyMatch(i -> i.stage().equals("build")
                && i.args().contains("ai/onnxruntime/native/linux-x64/") && i.args().contains("/opt/ort")));
    }

    @Test
    void infoShaAndDockerLabelComeFromBuildArguments() {
        // Read by io.tandem.server.BuildInfo: the build context has no .git.
        Map<String, String> env = finalEnv();
        assertEquals("${GIT_SHA}", env.get("TANDEM_GIT_SHA"));
        assertEquals("${DOCKER_LABEL}", env.get("TANDEM_DOCKER_LABEL"));
        List<String> args = all("ARG").stream().map(Instruction::args).toList();
        assertTrue(args.contains("GIT_SHA=unknown") && args.contains("DOCKER_LABEL=local"), args::toString);
    }

    @Test
    void listensOnPort80WithAHealthcheck() {
        assertEquals("80", finalEnv().get("PORT"));
        assertTrue(all("EXPOSE").stream().anyMatch(i -> i.args().equals("80")));
        String health = all("HEALTHCHECK").getLast().args();
        assertTrue(health.contains("/health"), health);
        assertTrue(health.contains("${PORT}"), "the check must follow PORT: " + health);
    }

    @Test
    void runsAsANonRootUser() {
        Instruction user = all("USER").getLast();
        assertEquals(finalStage(), user.stage());
        String uid = user.args().split(":")[0];
        assertFalse(uid.equals("root") || uid.equals("0"), user.args());
        assertTrue(uid.matches("\\d+"), "numeric, for Kubernetes' runAsNonRoot: " + uid);
    }

    // ---- compose -----------------------------------------------------------------------------

    /** The seed's case: bge-m3 and a bge reranker from hub repositories that ship ONNX graphs. */
    private static final String EMBED_HUB_ID = "BAAI/bge-m3";
    private static final String RERANK_HUB_ID = "BAAI/bge-reranker-base";
    private static final String HF_HOME = "/var/cache/tandem/huggingface";

    @Test
    void theImageKeepsTheHubCacheInAWritableFolder() {
        assertEquals(HF_HOME, finalEnv().get("HF_HOME"));
        assertTrue(all("RUN").stream().anyMatch(r -> r.stage().equals(finalStage())
                && r.args().contains("mkdir -p") && r.args().contains(HF_HOME) && r.args().contains("chown -R tandem:tandem /var/cache/tandem")),
                "the non-root user must own " + HF_HOME + ", or a fresh named volume there is root's");
    }

    @Test
    void composeRunsBothModelsOnGpu0() throws IOException {
        JsonNode service = YAML.readTree(root.resolve("docker/compose.yaml").toFile()).path("services").path("tandem");
        assertFalse(service.isMissingNode());

        JsonNode build = service.path("build");
        Path context = root.resolve("docker").resolve(build.path("context").asText()).normalize();
        assertEquals(root, context);
        assertTrue(Files.isRegularFile(context.resolve(build.path("dockerfile").asText())));

        List<String> command = JSON.convertValue(service.path("command"), List.class);
        assertEquals(List.of("--embed-port", "8080", "--rerank-port", "8081"), command);
        List<String> ports = new ArrayList<>();
        service.path("ports").forEach(p -> ports.add(p.asText()));
        assertTrue(ports.containsAll(List.of("8080:8080", "8081:8081")), ports::toString);
        assertTrue(ports.stream().anyMatch(p -> p.endsWith(":80")), "main port: " + ports);

        JsonNode device = service.path("deploy").path("resources").path("reservations").path("devices").get(0);
        assertEquals("nvidia", device.path("driver").asText());
        assertTrue(device.path("capabilities").toString().contains("gpu"));
        assertEquals("[\"0\"]", device.path("device_ids").toString(), "GPU 0, one GPU");

        List<String> volumes = new ArrayList<>();
        service.path("volumes").forEach(v -> volumes.add(v.asText()));
        assertEquals(List.of("hf-cache:" + HF_HOME), volumes);
        JsonNode compose = YAML.readTree(root.resolve("docker/compose.yaml").toFile());
        assertTrue(compose.path("volumes").has("hf-cache"), "hf-cache must be a named volume: it outlives the container");

        Map<String, String> env = composeEnv(service.path("environment"));
        assertTrue(env.keySet().containsAll(List.of("EMBED_GPU_MEM_LIMIT", "RERANK_GPU_MEM_LIMIT")), env::toString);
        assertEquals(EMBED_HUB_ID, env.get("EMBED_MODEL"));
        assertEquals(RERANK_HUB_ID, env.get("RERANK_MODEL"));
        assertEquals(HF_HOME, env.get("HF_HOME"));
        assertServerReads(env.keySet(), "compose.yaml");
    }

    private static Map<String, String> composeEnv(JsonNode environment) {
        Map<String, String> env = new LinkedHashMap<>();
        if (environment.isArray()) {
            environment.forEach(e -> {
                String s = e.asText();
                int eq = s.indexOf('=');
                env.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
            });
        } else {
            environment.properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        }
        return env;
    }

    // ---- Kubernetes --------------------------------------------------------------------------

    /** Every document of every manifest in docker/k8s, by kind. */
    private static Map<String, JsonNode> manifests() throws IOException {
        Map<String, JsonNode> byKind = new HashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(root.resolve("docker/k8s"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (Path f : files) {
            try (var docs = YAML.readValues(YAML.createParser(f.toFile()), JsonNode.class)) {
                while (docs.hasNext()) {
                    JsonNode doc = docs.next();
                    if (doc == null || doc.isMissingNode() || doc.isNull()) {
                        continue;
                    }
                    String kind = doc.path("kind").asText();
                    assertFalse(kind.isEmpty(), f + ": a document without kind");
                    assertTrue(byKind.put(kind, doc) == null, "two " + kind + "s");
                }
            }
        }
        assertTrue(byKind.keySet().containsAll(List.of("Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap")),
                byKind.keySet()::toString);
        return byKind;
    }

    @Test
    void deploymentRequestsOneGpuAndProbesHealth() throws IOException {
        Map<String, JsonNode> k8s = manifests();
        JsonNode pod = k8s.get("Deployment").path("spec").path("template");
        JsonNode container = pod.path("spec").path("containers").get(0);
        assertEquals("1", container.path("resources").path("limits").path("nvidia.com/gpu").asText());

        Map<String, Integer> ports = new HashMap<>();
        container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
        assertEquals(Set.of(80, 8080, 8081), Set.copyOf(ports.values()));
        assertEquals(List.of("--embed-port", "8080", "--rerank-port", "8081"),
                JSON.convertValue(container.path("args"), List.class));

        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            JsonNode get = container.path(probe).path("httpGet");
            assertEquals("/health", get.path("path").asText(), probe);
            JsonNode port = get.path("port");
            int number = port.isInt() ? port.asInt() : ports.getOrDefault(port.asText(), -1);
            assertEquals(80, number, probe + " must hit the main port");
        }

        JsonNode security = pod.path("spec").path("securityContext");
        assertTrue(security.path("runAsNonRoot").asBoolean());
        assertFalse(security.path("runAsUser").asInt() == 0);

        // The pod reads its settings from the ConfigMap, and the Service reaches its ports.
        assertEquals(k8s.get("ConfigMap").path("metadata").path("name").asText(),
                container.path("envFrom").get(0).path("configMapRef").path("name").asText());
        JsonNode labels = pod.path("metadata").path("labels");
        k8s.get("Service").path("spec").path("selector").properties()
                .forEach(e -> assertEquals(e.getValue().asText(), labels.path(e.getKey()).asText()));
        k8s.get("Service").path("spec").path("ports").forEach(p -> {
            JsonNode target = p.path("targetPort");
            assertTrue(target.isInt() ? ports.containsValue(target.asInt()) : ports.containsKey(target.asText()),
                    "Service port " + p + " has no container port");
        });
    }

    @Test
    void hpaScalesOnTheQueueSizeMetric() throws IOException {
        Map<String, JsonNode> k8s = manifests();
        JsonNode hpa = k8s.get("HorizontalPodAutoscaler");
        assertEquals("autoscaling/v2", hpa.path("apiVersion").asText());
        assertEquals(k8s.get("Deployment").path("metadata").path("name").asText(),
                hpa.path("spec").path("scaleTargetRef").path("name").asText());
        JsonNode metric = hpa.path("spec").path("metrics").get(0);
        assertEquals("Pods", metric.path("type").asText());
        assertEquals("te_queue_size", metric.path("pods").path("metric").path("name").asText());

        // ... and it is a metric the server exports.
        MetricsRegistry registry = new MetricsRegistry();
        new TeiMetrics(registry, "m", 512).setQueueSize(3);
        assertTrue(registry.render().contains("te_queue_size{"), registry.render());
    }

    @Test
    void everyEnvironmentVariableIsOneTheServerReads() throws IOException {
        Map<String, JsonNode> k8s = manifests();
        Set<String> names = new TreeSet<>();
        k8s.get("ConfigMap").path("data").fieldNames().forEachRemaining(names::add);
        k8s.get("Deployment").path("spec").path("template").path("spec").path("containers")
                .forEach(c -> c.path("env").forEach(e -> names.add(e.path("name").asText())));
        assertTrue(names.containsAll(List.of("EMBED_GPU_MEM_LIMIT", "RERANK_GPU_MEM_LIMIT")), names::toString);
        assertServerReads(names, "docker/k8s");
    }

    @Test
    void kubernetesRunsTheSameHubModelsWithTheCacheOnAVolume() throws IOException {
        Map<String, JsonNode> k8s = manifests();
        JsonNode data = k8s.get("ConfigMap").path("data");
        assertEquals(EMBED_HUB_ID, data.path("EMBED_MODEL").asText());
        assertEquals(RERANK_HUB_ID, data.path("RERANK_MODEL").asText());
        assertEquals(HF_HOME, data.path("HF_HOME").asText());
        JsonNode spec = k8s.get("Deployment").path("spec").path("template").path("spec");
        JsonNode mount = null;
        for (JsonNode m : spec.path("containers").get(0).path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(HF_HOME)) {
                mount = m;
            }
        }
        assertNotNull(mount, "nothing mounted at " + HF_HOME);
        assertFalse(mount.path("readOnly").asBoolean(), "the first start writes the downloads there");
        String volume = mount.path("name").asText();
        JsonNode claim = null;
        for (JsonNode v : spec.path("volumes")) {
            if (v.path("name").asText().equals(volume)) {
                claim = v.path("persistentVolumeClaim");
            }
        }
        assertNotNull(claim);
        assertEquals("tandem-hf-cache", claim.path("claimName").asText(), "a cache that survives the pod");
    }

    private static void assertServerReads(Set<String> names, String where) {
        List<String> unknown = names.stream().filter(n -> !serverEnv.contains(n)).toList();
        assertEquals(List.of(), unknown, where + " sets variables the server does not read (see --help)");
    }

    // ---- .dockerignore -----------------------------------------------------------------------

    private static List<String> dockerIgnore() throws IOException {
        return Files.readAllLines(root.resolve(".dockerignore")).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    /** Docker's rule, simplified to what we use: a path is out if it or a folder above it matches a pattern. */
    private static boolean ignored(List<String> patterns, String path) {
        Path p = Path.of(path).normalize();
        for (String pattern : patterns) {
            List<String> globs = new ArrayList<>(List.of(pattern));
            if (pattern.startsWith("**/")) {
                globs.add(pattern.substring(3)); // Docker's **/x also matches x at the top
            }
            for (String glob : globs) {
                var matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
                for (Path prefix = p; prefix != null; prefix = prefix.getParent()) {
                    if (matcher.matches(prefix)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
