package io.tandem.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class FlagsTest {
    private static ServerConfig parse(String... args) {
        return Flags.parse(args, Map.of());
    }

    private static ServerConfig parseEnv(Map<String, String> env, String... args) {
        return Flags.parse(args, env);
    }

    private static String error(Map<String, String> env, String... args) {
        return assertThrows(FlagException.class, () -> Flags.parse(args, env)).getMessage();
    }

    private static String error(String... args) {
        return error(Map.of(), args);
    }

    @Test
    void defaults() {
        ServerConfig c = parse();
        assertEquals("0.0.0.0", c.hostname());
        assertEquals(3000, c.port());
        assertNull(c.embedPort());
        assertNull(c.grpcPort());
        assertNull(c.rerankPort());
        assertNull(c.modelId());
        assertNull(c.apiKey());
        assertEquals(2_000_000L, c.payloadLimit());
        assertFalse(c.jsonOutput());
        assertEquals(List.of(), c.corsAllowOrigins());
        assertEquals("auto", c.device());
        assertEquals(Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1, 64), c.tokenizationWorkers());
        assertEquals(Duration.ofSeconds(30), c.shutdownGracePeriod());
        assertNull(c.onnxruntimeNativePath());
        assertEquals(List.of(), c.warnings());
        ModelSettings expected = new ModelSettings(null, null, null, null, 512, null, null, 32, true,
                null, null, null, false, null, Duration.ofSeconds(60), 128L << 20);
        assertEquals(expected, c.embed());
        assertEquals(expected, c.rerank());
    }

    @Test
    void rerankPriorityIsOnUnlessTurnedOff() {
        assertEquals(true, parse().rerankPriority());
        assertEquals(false, parse("--rerank-priority", "false").rerankPriority());
        assertEquals(false, parseEnv(Map.of("RERANK_PRIORITY", "false")).rerankPriority());
    }

    @Test
    void rerankPriorityKnobs() {
        ServerConfig d = parse();
        assertEquals(Duration.ofMillis(50), d.rerankPriorityMaxWait());
        assertEquals(4096, d.rerankPriorityBatchTokens());
        assertEquals(Duration.ofSeconds(1), d.rerankPriorityWindow());

        ServerConfig c = parse("--rerank-priority-max-wait", "0.2", "--rerank-priority-batch-tokens=1024",
                "--rerank-priority-window", "2.5");
        assertEquals(Duration.ofMillis(200), c.rerankPriorityMaxWait());
        assertEquals(1024, c.rerankPriorityBatchTokens());
        assertEquals(Duration.ofMillis(2500), c.rerankPriorityWindow());
        assertEquals(Duration.ZERO, parse("--rerank-priority-max-wait=0").rerankPriorityMaxWait());
        assertEquals(Duration.ofSeconds(3), parse("--rerank-priority-window", "3").rerankPriorityWindow());

        Map<String, String> env = Map.of("RERANK_PRIORITY_MAX_WAIT", "0.01", "RERANK_PRIORITY_BATCH_TOKENS", "512",
                "RERANK_PRIORITY_WINDOW", "0.5");
        ServerConfig e = parseEnv(env);
        assertEquals(Duration.ofMillis(10), e.rerankPriorityMaxWait());
        assertEquals(512, e.rerankPriorityBatchTokens());
        assertEquals(Duration.ofMillis(500), e.rerankPriorityWindow());
        // The command line wins; an empty variable is unset.
        assertEquals(2048, parseEnv(env, "--rerank-priority-batch-tokens", "2048").rerankPriorityBatchTokens());
        assertEquals(4096, parseEnv(Map.of("RERANK_PRIORITY_BATCH_TOKENS", "")).rerankPriorityBatchTokens());

        assertEquals("--rerank-priority-max-wait: expected a number of seconds, got '-1'",
                error("--rerank-priority-max-wait", "-1"));
        assertEquals("--rerank-priority-max-wait: expected a number of seconds, got '50ms'",
                error("--rerank-priority-max-wait=50ms"));
        assertEquals("--rerank-priority-batch-tokens: expected a positive integer, got '0'",
                error("--rerank-priority-batch-tokens", "0"));
        assertEquals("RERANK_PRIORITY_BATCH_TOKENS: expected a positive integer, got '1.5'",
                error(Map.of("RERANK_PRIORITY_BATCH_TOKENS", "1.5")));
        assertEquals("RERANK_PRIORITY_WINDOW: expected a number of seconds, got 'x'",
                error(Map.of("RERANK_PRIORITY_WINDOW", "x")));
        assertEquals("--rerank-priority-window: missing value", error("--rerank-priority-window"));
        // They are server flags: no per-model forms.
        assertEquals("unknown flag --embed-rerank-priority-window", error("--embed-rerank-priority-window", "1"));
    }

    @Test
    void serverFlagsInBothSpellings() {
        ServerConfig c = parse("--hostname", "127.0.0.1", "-p", "8080", "--embed-port=8081", "--rerank-port", "8082",
                "--model-id", "/models/x", "--api-key=secret", "--payload-limit", "1000", "--json-output",
                "--cors-allow-origin", "http://a", "--cors-allow-origin=http://b,http://c", "--device", "cuda:1",
                "--tokenization-workers", "3", "--shutdown-grace-period", "2.5",
                "--onnxruntime-native-path", "/opt/ort");
        assertEquals("127.0.0.1", c.hostname());
        assertEquals(8080, c.port());
        assertEquals(8081, c.embedPort());
        assertEquals(8082, c.rerankPort());
        assertEquals("/models/x", c.modelId());
        assertEquals("secret", c.apiKey());
        assertEquals(1000L, c.payloadLimit());
        assertTrue(c.jsonOutput());
        assertEquals(List.of("http://a", "http://b", "http://c"), c.corsAllowOrigins());
        assertEquals("cuda:1", c.device());
        assertEquals(3, c.tokenizationWorkers());
        assertEquals(Duration.ofMillis(2500), c.shutdownGracePeriod());
        assertEquals("/opt/ort", c.onnxruntimeNativePath());
        assertEquals(9000, parse("--port=9000").port());
        assertEquals(9001, parse("-p=9001").port());
        assertEquals(Duration.ofSeconds(7), parse("--shutdown-grace-period", "7").shutdownGracePeriod());
        assertEquals("::1", parse("--hostname", "::1").hostname());
    }

    @Test
    void connectionLimits() {
        ServerConfig c = parse("--header-read-timeout", "2.5", "--keep-alive-timeout=0", "--max-connections", "8");
        assertEquals(Duration.ofMillis(2500), c.headerReadTimeout());
        assertEquals(Duration.ZERO, c.keepAliveTimeout());
        assertEquals(8, c.maxConnections());
        c = Flags.parse(new String[0], Map.of("HEADER_READ_TIMEOUT", "3", "KEEP_ALIVE_TIMEOUT", "75",
                "MAX_CONNECTIONS", "100"));
        assertEquals(Duration.ofSeconds(3), c.headerReadTimeout());
        assertEquals(Duration.ofSeconds(75), c.keepAliveTimeout());
        assertEquals(100, c.maxConnections());
        assertThrows(FlagException.class, () -> parse("--max-connections", "0"));
        assertThrows(FlagException.class, () -> parse("--keep-alive-timeout", "-1"));
    }

    @Test
    void modelSettingsGeneralFormAppliesToBoth() {
        ServerConfig c = parse("--revision", "abc", "--served-model-name", "svc", "--pooling", "last-token",
                "--max-concurrent-requests", "7", "--max-batch-tokens=100", "--max-batch-requests", "4",
                "--max-client-batch-size", "9", "--auto-truncate", "false", "--default-prompt", "query: ",
                "--gpu-mem-limit", "4GiB", "--cuda-graphs", "--dtype", "float16", "--request-timeout", "2.5",
                "--max-response-bytes", "1MiB");
        ModelSettings expected = new ModelSettings(null, "abc", "svc", "lasttoken", 7, 100, 4, 9, false,
                "query: ", null, 4L << 30, true, "float16", Duration.ofMillis(2500), 1L << 20);
        assertEquals(expected, c.embed());
        assertEquals(expected, c.rerank());
    }

    @Test
    void perModelFormsOverrideTheGeneralOne() {
        ServerConfig c = parse("--embed-model", "/m/e", "--rerank-model=/m/r", "--max-batch-tokens", "100",
                "--rerank-max-batch-tokens", "200", "--embed-pooling", "cls", "--rerank-auto-truncate=false",
                "--embed-dtype", "float32", "--rerank-gpu-mem-limit", "512MiB");
        assertEquals("/m/e", c.embed().model());
        assertEquals("/m/r", c.rerank().model());
        assertEquals(100, c.embed().maxBatchTokens());
        assertEquals(200, c.rerank().maxBatchTokens());
        assertEquals("cls", c.embed().pooling());
        assertNull(c.rerank().pooling());
        assertTrue(c.embed().autoTruncate());
        assertFalse(c.rerank().autoTruncate());
        assertEquals("float32", c.embed().dtype());
        assertNull(c.rerank().dtype());
        assertNull(c.embed().gpuMemLimit());
        assertEquals(512L << 20, c.rerank().gpuMemLimit());
    }

    @Test
    void precedence() {
        Map<String, String> env = Map.of(
                "MAX_BATCH_TOKENS", "10", "EMBED_MAX_BATCH_TOKENS", "20", "RERANK_MAX_CLIENT_BATCH_SIZE", "5",
                "PORT", "80", "MAX_CONCURRENT_REQUESTS", "64");
        // per-model env beats general CLI; general CLI beats general env; CLI beats env for server flags.
        ServerConfig c = parseEnv(env, "--max-batch-tokens", "30", "--max-client-batch-size", "6", "--port", "81");
        assertEquals(20, c.embed().maxBatchTokens());
        assertEquals(30, c.rerank().maxBatchTokens());
        assertEquals(6, c.embed().maxClientBatchSize());
        assertEquals(5, c.rerank().maxClientBatchSize());
        assertEquals(81, c.port());
        assertEquals(64, c.embed().maxConcurrentRequests());
        // per-model CLI beats per-model env.
        assertEquals(40, parseEnv(env, "--embed-max-batch-tokens", "40").embed().maxBatchTokens());
        // general env beats the default.
        assertEquals(10, parseEnv(env).rerank().maxBatchTokens());
        assertEquals(80, parseEnv(env).port());
        // Last one wins on the command line.
        assertEquals(2, parse("--max-batch-requests", "1", "--max-batch-requests", "2").embed().maxBatchRequests());
    }

    @Test
    void environmentVariables() {
        Map<String, String> env = Map.ofEntries(
                Map.entry("PATH", "/usr/bin"), Map.entry("HOME", "/root"), Map.entry("LANG", "C.UTF-8"),
                Map.entry("HOSTNAME", "127.0.0.1"), Map.entry("PORT", "80"), Map.entry("API_KEY", "k"),
                Map.entry("PAYLOAD_LIMIT", "5"), Map.entry("JSON_OUTPUT", "TRUE"), Map.entry("DEVICE", "cpu"),
                Map.entry("CORS_ALLOW_ORIGIN", "http://a, http://b"), Map.entry("MODEL_ID", "/m"),
                Map.entry("AUTO_TRUNCATE", "False"), Map.entry("EMBED_MODEL", "/e"), Map.entry("RERANK_MODEL", "/r"),
                Map.entry("DEFAULT_PROMPT_NAME", "query"), Map.entry("GPU_MEM_LIMIT", "2GB"),
                Map.entry("SHUTDOWN_GRACE_PERIOD", "0"), Map.entry("TOKENIZATION_WORKERS", "2"),
                Map.entry("ONNXRUNTIME_NATIVE_PATH", "/ort"), Map.entry("EMBED_PORT", "81"),
                Map.entry("RERANK_REVISION", "r1"), Map.entry("DTYPE", "FLOAT32"));
        ServerConfig c = parseEnv(env);
        assertEquals("127.0.0.1", c.hostname());
        assertEquals(80, c.port());
        assertEquals(81, c.embedPort());
        assertEquals("k", c.apiKey());
        assertEquals(5L, c.payloadLimit());
        assertTrue(c.jsonOutput());
        assertEquals("cpu", c.device());
        assertEquals(List.of("http://a", "http://b"), c.corsAllowOrigins());
        assertEquals("/m", c.modelId());
        assertEquals(Duration.ZERO, c.shutdownGracePeriod());
        assertEquals(2, c.tokenizationWorkers());
        assertEquals("/ort", c.onnxruntimeNativePath());
        assertFalse(c.embed().autoTruncate());
        assertEquals("/e", c.embed().model());
        assertEquals("/r", c.rerank().model());
        assertEquals("query", c.rerank().defaultPromptName());
        assertEquals(2_000_000_000L, c.embed().gpuMemLimit());
        assertNull(c.embed().revision());
        assertEquals("r1", c.rerank().revision());
        assertEquals("float32", c.embed().dtype());
        assertEquals(List.of(), c.warnings());
        // Command-line origins replace the environment's.
        assertEquals(List.of("http://c"), parseEnv(env, "--cors-allow-origin", "http://c").corsAllowOrigins());
    }

    @Test
    void emptyEnvironmentValuesAreUnset() {
        ServerConfig c = parseEnv(Map.of("PORT", "", "API_KEY", "", "MAX_BATCH_TOKENS", ""));
        assertEquals(3000, c.port());
        assertNull(c.apiKey());
        assertNull(c.embed().maxBatchTokens(), "the device's default");
        // An empty command-line value cancels one from the environment.
        assertNull(parseEnv(Map.of("API_KEY", "k"), "--api-key=").apiKey());
    }

    @Test
    void dockerHostnameFallsBackWithAWarning() {
        ServerConfig c = parseEnv(Map.of("HOSTNAME", "3f2a9c0e1b7d"));
        assertEquals("0.0.0.0", c.hostname());
        assertEquals(1, c.warnings().size());
        assertTrue(c.warnings().getFirst().contains("HOSTNAME"), c.warnings().getFirst());
        assertEquals("0.0.0.0", parse("--hostname", "localhost").hostname());
        assertEquals("0.0.0.0", parse("--hostname", "256.1.1.1").hostname());
        assertEquals("0.0.0.0", parse("--hostname", "[::1]").hostname());
        // The command line wins over Docker's HOSTNAME without a warning.
        ServerConfig d = parseEnv(Map.of("HOSTNAME", "3f2a9c0e1b7d"), "--hostname", "10.0.0.2");
        assertEquals("10.0.0.2", d.hostname());
        assertEquals(List.of(), d.warnings());
        assertTrue(Flags.isIpLiteral("fe80::1"));
        assertTrue(Flags.isIpLiteral("::ffff:10.0.0.1"));
        assertFalse(Flags.isIpLiteral("abc:def"));
        assertFalse(Flags.isIpLiteral("1.2.3"));
    }

    @Test
    void bareBooleans() {
        assertTrue(parse("--json-output").jsonOutput());
        assertTrue(parse("--json-output", "--port", "1").jsonOutput());
        assertTrue(parse("--json-output", "-p", "1").jsonOutput());
        assertFalse(parse("--json-output", "false").jsonOutput());
        assertFalse(parse("--json-output=FALSE").jsonOutput());
        ServerConfig c = parseEnv(Map.of("AUTO_TRUNCATE", "false"), "--rerank-auto-truncate", "--port", "1");
        assertFalse(c.embed().autoTruncate());
        assertTrue(c.rerank().autoTruncate());
        assertTrue(parseEnv(Map.of("AUTO_TRUNCATE", "false"), "--auto-truncate").embed().autoTruncate());
        assertEquals("--json-output: expected true or false, got 'maybe'", error("--json-output", "maybe"));
    }

    @Test
    void gpuMemLimitSuffixes() {
        assertEquals(1000L, parse("--gpu-mem-limit", "1000").embed().gpuMemLimit());
        assertEquals(1000L, parse("--gpu-mem-limit", "1000B").embed().gpuMemLimit());
        assertEquals(4L << 30, parse("--gpu-mem-limit", "4GiB").embed().gpuMemLimit());
        assertEquals(4L << 30, parse("--gpu-mem-limit", "4 gib").embed().gpuMemLimit());
        assertEquals(512L << 20, parse("--gpu-mem-limit", "512MiB").embed().gpuMemLimit());
        assertEquals(2_000_000_000L, parse("--gpu-mem-limit", "2GB").embed().gpuMemLimit());
        assertEquals(3L << 29, parse("--gpu-mem-limit", "1.5GiB").embed().gpuMemLimit());
        assertEquals(5_000L, parse("--gpu-mem-limit", "5KB").embed().gpuMemLimit());
        assertEquals(1L << 40, parse("--gpu-mem-limit", "1TiB").embed().gpuMemLimit());
        for (String bad : List.of("4G", "GiB", "-1", "0", "4 GiBs", "1e9", "99999999999TiB")) {
            assertTrue(error("--gpu-mem-limit", bad).startsWith("--gpu-mem-limit: expected a size"), bad);
        }
    }

    @Test
    void valueNormalisation() {
        assertEquals("lasttoken", parse("--pooling", "lasttoken").embed().pooling());
        assertEquals("lasttoken", parse("--pooling", "LAST-TOKEN").embed().pooling());
        assertEquals("mean", parse("--pooling", "mean").embed().pooling());
        assertEquals("splade", parse("--pooling", "splade").embed().pooling());
        assertEquals("cuda", parse("--device", "CUDA").device());
        assertEquals("cuda:0", parse("--device", "cuda:0").device());
    }

    @Test
    void prompts() {
        ServerConfig c = parse("--default-prompt", "query: ", "--rerank-default-prompt-name", "rr");
        assertEquals("query: ", c.embed().defaultPrompt());
        assertNull(c.embed().defaultPromptName());
        assertNull(c.rerank().defaultPrompt());
        assertEquals("rr", c.rerank().defaultPromptName());
        // A prompt that starts with a dash is still a value.
        assertEquals("-x", parse("--default-prompt", "-x").embed().defaultPrompt());
    }

    @Test
    void errors() {
        assertEquals("unknown flag --foo", error("--foo"));
        assertEquals("unknown flag --foo", error("--foo=1"));
        assertEquals("unknown flag --model", error("--model", "/m"));
        assertEquals("unknown flag --embed-model-id", error("--embed-model-id", "/m"));
        assertEquals("unexpected argument 'stray'", error("stray"));
        assertEquals("--max-batch-tokens: expected a positive integer, got 'abc'", error("--max-batch-tokens", "abc"));
        assertEquals("--max-batch-tokens: expected a positive integer, got '0'", error("--max-batch-tokens", "0"));
        assertEquals("--embed-max-batch-requests: expected a positive integer, got '-3'",
                error("--embed-max-batch-requests=-3"));
        assertEquals("MAX_CLIENT_BATCH_SIZE: expected a positive integer, got 'x'",
                error(Map.of("MAX_CLIENT_BATCH_SIZE", "x")));
        assertEquals("--port: expected a port number 0..65535, got '70000'", error("--port", "70000"));
        assertEquals("--port: missing value", error("--port"));
        assertEquals("--api-key: missing value", error("--api-key", "--port", "1"));
        assertEquals("--device: expected auto|cpu|cuda[:N], got 'gpu'", error("--device", "gpu"));
        assertEquals("--device: expected auto|cpu|cuda[:N], got 'cuda:'", error("--device", "cuda:"));
        assertEquals("--pooling: expected cls|mean|last-token|splade, got 'max'", error("--pooling", "max"));
        assertEquals("--dtype: expected float32|float16, got 'bfloat16'", error("--dtype", "bfloat16"));
        assertEquals("--shutdown-grace-period: expected a number of seconds, got '-1'",
                error("--shutdown-grace-period", "-1"));
        assertEquals("--default-prompt and --default-prompt-name cannot both be set",
                error("--default-prompt", "a", "--default-prompt-name", "b"));
        assertEquals("--default-prompt and --default-prompt-name cannot both be set",
                error(Map.of("DEFAULT_PROMPT_NAME", "b"), "--default-prompt", "a"));
        assertEquals("--embed-default-prompt and --embed-default-prompt-name cannot both be set",
                error("--embed-default-prompt", "a", "--embed-default-prompt-name", "b"));
        // Only the winning value is parsed: a bad value that is overridden does no harm.
        assertEquals(5, parseEnv(Map.of("MAX_BATCH_TOKENS", "junk"), "--max-batch-tokens", "5").embed().maxBatchTokens());
    }

    @Test
    void teiOnlyFlagsAreAcceptedWithAWarning() {
        ServerConfig c = parse("--huggingface-hub-cache", "/data", "--disable-spans", "--otlp-endpoint=http://x");
        assertEquals(2, c.warnings().size(), c.warnings()::toString);
        assertTrue(c.warnings().getFirst().contains("--huggingface-hub-cache"));
        assertTrue(c.warnings().get(1).contains("--disable-spans"));
    }

    @Test
    void tracingAndTaskFlagsAsTei() {
        ServerConfig c = parse();
        assertNull(c.otlpEndpoint(), "no SDK unless an endpoint is set");
        assertEquals("text-embeddings-inference.server", c.otlpServiceName());
        assertNull(c.task());
        c = parseEnv(Map.of("OTLP_ENDPOINT", "http://collector:4317", "OTLP_SERVICE_NAME", "tei",
                "TASK", "sentence-similarity"));
        assertEquals("http://collector:4317", c.otlpEndpoint());
        assertEquals("tei", c.otlpServiceName());
        assertEquals("sentence-similarity", c.task());
        c = parseEnv(Map.of("OTLP_ENDPOINT", "http://collector:4317"), "--otlp-endpoint", "http://other:4317",
                "--task", "feature-extraction");
        assertEquals("http://other:4317", c.otlpEndpoint());
        assertEquals("feature-extraction", c.task());
        assertTrue(c.warnings().isEmpty(), c.warnings()::toString);
    }

    @Test
    void help() {
        assertTrue(Flags.wantsHelp(new String[] {"--port", "1", "-h"}));
        assertTrue(Flags.wantsHelp(new String[] {"--help"}));
        assertFalse(Flags.wantsHelp(new String[] {"--port", "1"}));
        parse("--help"); // not an error for parse

        String help = Flags.help();
        List<String> server = List.of("hostname", "port", "embed-port", "rerank-port", "model-id", "embed-model",
                "rerank-model", "api-key", "payload-limit", "json-output", "cors-allow-origin", "device",
                "rerank-priority", "rerank-priority-max-wait", "rerank-priority-batch-tokens", "rerank-priority-window",
                "tokenization-workers", "shutdown-grace-period", "onnxruntime-native-path");
        List<String> model = List.of("revision", "served-model-name", "pooling", "max-concurrent-requests",
                "max-batch-tokens", "max-batch-requests", "max-client-batch-size", "auto-truncate", "default-prompt",
                "default-prompt-name", "gpu-mem-limit", "dtype");
        for (String f : server) {
            assertTrue(help.contains("--" + f + " "), f);
            assertTrue(help.contains("[env: " + Flags.envName(f) + "]"), f);
        }
        for (String f : model) {
            for (String form : List.of(f, "embed-" + f, "rerank-" + f)) {
                assertTrue(help.contains("--" + form + " "), form);
                assertTrue(help.contains("[env: " + Flags.envName(form) + "]"), form);
            }
        }
        assertTrue(help.contains("-p, --port"));
        assertTrue(help.contains("[default: 16384 on a GPU, 1024 on the CPU]"));
        assertTrue(help.contains("[default: 2000000]"));
        // Server flags come before the model settings, each once.
        String serverSection = help.substring(help.indexOf("\nServer\n"), help.indexOf("\nModel settings."));
        for (String f : server) {
            assertEquals(1, serverSection.split("--" + f + " ", -1).length - 1, f);
        }
        assertTrue(serverSection.contains("  --rerank-priority-max-wait <SECONDS>\n"
                + "      Longest the embedder waits while reranker inputs are pending\n"
                + "      [env: RERANK_PRIORITY_MAX_WAIT] [default: 0.05]\n"), serverSection);
    }

    /** Each option's "[default: …]" in --help, by flag name. */
    private static Map<String, String> helpDefaults() {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^  (?:-p, )?--([a-z-]+) [^\n]*\n      [^\n]*\n"
                + "      \\[env: [A-Z_]+] \\[default: ([^\\]\n]*)]$").matcher(Flags.help());
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    /** What --help says when a flag has no value by default, or one computed at start-up. */
    private static final Set<String> DESCRIBED_DEFAULTS = Set.of("none", "off", "any", "unlimited", "from the model",
            "CPUs - 1, between 1 and 64", "16384 on a GPU, 1024 on the CPU");

    @Test
    void helpShowsTheDefaultsParseApplies() {
        Map<String, String> shown = helpDefaults();
        // Every "[env: …] [default: …]" line was read (all options but the ignored TEI ones have one).
        assertEquals(Flags.help().split("\n      \\[env: ", -1).length - 1, shown.size(), shown::toString);
        assertEquals(43, shown.size(), shown::toString);
        ServerConfig c = parse();

        // The numeric ones, against what parse() applies to an empty command line.
        Map<String, Function<ServerConfig, Number>> numeric = new LinkedHashMap<>();
        numeric.put("port", ServerConfig::port);
        numeric.put("payload-limit", ServerConfig::payloadLimit);
        numeric.put("rerank-priority-max-wait", x -> seconds(x.rerankPriorityMaxWait()));
        numeric.put("rerank-priority-batch-tokens", ServerConfig::rerankPriorityBatchTokens);
        numeric.put("rerank-priority-window", x -> seconds(x.rerankPriorityWindow()));
        numeric.put("shutdown-grace-period", x -> seconds(x.shutdownGracePeriod()));
        numeric.put("header-read-timeout", x -> seconds(x.headerReadTimeout()));
        numeric.put("keep-alive-timeout", x -> seconds(x.keepAliveTimeout()));
        numeric.put("max-connections", ServerConfig::maxConnections);
        numeric.put("max-concurrent-requests", x -> x.embed().maxConcurrentRequests());
        numeric.put("max-client-batch-size", x -> x.embed().maxClientBatchSize());
        numeric.put("request-timeout", x -> seconds(x.embed().requestTimeout()));
        numeric.put("max-response-bytes", x -> x.embed().maxResponseBytes());
        for (var e : shown.entrySet()) {
            if (e.getValue().matches("\\d+(\\.\\d+)?")) {
                assertTrue(numeric.containsKey(e.getKey()), "numeric default not checked: " + e.getKey());
            }
        }
        for (var e : numeric.entrySet()) {
            String flag = e.getKey();
            assertTrue(shown.containsKey(flag), flag);
            assertEquals(0, new BigDecimal(shown.get(flag)).compareTo(new BigDecimal(e.getValue().apply(c).toString())),
                    flag + ": help says " + shown.get(flag) + ", parse() applies " + e.getValue().apply(c));
        }
        assertEquals(c.rerank().maxBatchTokens(), c.embed().maxBatchTokens());

        // Every default, numeric or not: giving it explicitly changes nothing.
        for (var e : shown.entrySet()) {
            if (DESCRIBED_DEFAULTS.contains(e.getValue())) {
                continue;
            }
            assertEquals(c, parse("--" + e.getKey(), e.getValue()), e.getKey() + " " + e.getValue());
        }
        assertEquals(Set.of("hostname", "json-output", "device", "rerank-priority", "auto-truncate", "otlp-service-name",
                        "cuda-graphs"),
                Set.copyOf(shown.entrySet().stream()
                        .filter(e -> !DESCRIBED_DEFAULTS.contains(e.getValue()) && !e.getValue().matches("\\d+(\\.\\d+)?"))
                        .map(Map.Entry::getKey).toList()));
        // Options described as having no value are unset.
        assertNull(c.embedPort());
        assertNull(c.embed().maxBatchRequests());
        assertNull(c.embed().gpuMemLimit());
        assertEquals("CPUs - 1, between 1 and 64", shown.get("tokenization-workers"));
        assertEquals(Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1, 64), c.tokenizationWorkers());
    }

    private static BigDecimal seconds(Duration d) {
        return BigDecimal.valueOf(d.toNanos(), 9);
    }
}
