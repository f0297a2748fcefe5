package io.tandem.server.config;

import io.tandem.models.infer.InferenceSettings;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads TEI's command line and environment, plus Tandem's own flags for running an embedder and
 * a reranker side by side.
 *
 * <p>Every flag {@code --some-flag} can also come from the environment variable
 * {@code SOME_FLAG}, as in TEI (clap's {@code env}). Server flags: command line, then
 * environment, then default. Model settings exist three times, {@code --max-batch-tokens},
 * {@code --embed-max-batch-tokens} and {@code --rerank-max-batch-tokens}, so one command line
 * can tune both models at once and still override one of them: per-model (command line, then
 * environment), then general (command line, then environment), then default.
 *
 * <p>An empty environment variable counts as unset (as in clap), because container tooling often
 * defines variables as empty. An empty string on the command line sets a text flag to nothing,
 * which is how a command line can cancel a value inherited from the environment.
 *
 * <p>Each flag is declared once, as an {@link Option} in the table below: name, value name,
 * scope, default value, help and parser. The command line reader, {@link #parse} and
 * {@link #help} all read that table; the help's {@code [default: …]} is rendered from the default
 * value itself, except where there is no value (the setting stays unset) or it is computed at
 * start-up, which the option then describes in words.
 */
public final class Flags {
    private static final String EMBED = "embed-";
    private static final String RERANK = "rerank-";

    private enum Scope {
        SERVER,
        /** Has a general form and an embed-/rerank- form. */
        MODEL,
        /** TEI flags that mean nothing here; accepted so TEI command lines keep starting. */
        IGNORED
    }

    // ---- Parsers: one per kind of value, shared by every option of that kind. ----

    /** Reads one value; refuses it by throwing IllegalArgumentException or ArithmeticException. */
    @FunctionalInterface
    private interface Read<T> {
        T apply(String value);
    }

    /**
     * A typed value reader.
     *
     * @param expected completes the error "SOURCE: expected …, got 'VALUE'"; null for parsers that refuse nothing
     * @param show writes a default value for --help
     */
    private record Parser<T>(String expected, Read<T> read, Function<? super T, String> show) {
        T parse(Raw r) {
            try {
                return read.apply(r.value());
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw bad(r, expected);
            }
        }
    }

    private static <T> T valid(T v, Predicate<? super T> ok) {
        if (!ok.test(v)) {
            throw new IllegalArgumentException();
        }
        return v;
    }

    private static String lower(String v) {
        return v.strip().toLowerCase(Locale.ROOT);
    }

    /** A choice among fixed words, case-insensitive; {@code accepted} maps each spelling to the value. */
    private static Parser<String> choice(String expected, Map<String, String> accepted) {
        return new Parser<>(expected, v -> valid(accepted.get(lower(v)), a -> a != null), v -> v);
    }

    private static Parser<String> choice(String... words) {
        Map<String, String> accepted = new LinkedHashMap<>();
        for (String w : words) {
            accepted.put(w, w);
        }
        return choice(String.join("|", words), accepted);
    }

    private static final Pattern DEVICE_PATTERN = Pattern.compile("auto|cpu|cuda(:(0|[1-9]\\d{0,8}))?");
    private static final Pattern SIZE_PATTERN = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-z]*)");
    private static final Map<String, Long> SIZE_UNITS = Map.ofEntries(
            Map.entry("", 1L), Map.entry("b", 1L),
            Map.entry("kb", 1_000L), Map.entry("mb", 1_000_000L),
            Map.entry("gb", 1_000_000_000L), Map.entry("tb", 1_000_000_000_000L),
            Map.entry("kib", 1L << 10), Map.entry("mib", 1L << 20),
            Map.entry("gib", 1L << 30), Map.entry("tib", 1L << 40));

    /** As given; an empty value means unset. */
    private static final Parser<String> TEXT = new Parser<>(null, v -> v.isEmpty() ? null : v, v -> v);
    /** Stripped; whether it is an IP address is the hostname rule's business (it warns, never refuses). */
    private static final Parser<String> HOST = new Parser<>(null, String::strip, v -> v);
    /** Comma-separated, blanks dropped. */
    private static final Parser<List<String>> ORIGINS = new Parser<>(null, Flags::origins, v -> String.join(",", v));
    private static final Parser<Integer> POSITIVE_INT = new Parser<>("a positive integer",
            v -> valid(Integer.parseInt(v.strip()), n -> n >= 1), String::valueOf);
    private static final Parser<Long> POSITIVE_LONG = new Parser<>("a positive integer",
            v -> valid(Long.parseLong(v.strip()), n -> n >= 1), String::valueOf);
    private static final Parser<Integer> PORT_NUMBER = new Parser<>("a port number 0..65535",
            v -> valid(Integer.parseInt(v.strip()), n -> n >= 0 && n <= 65535), String::valueOf);
    // true/false as TEI documents; 1/0, yes/no and on/off because clap's switches read those from env.
    private static final Parser<Boolean> BOOL = new Parser<>("true or false", v -> switch (lower(v)) {
        case "true", "1", "yes", "on" -> true;
        case "false", "0", "no", "off" -> false;
        default -> throw new IllegalArgumentException();
    }, String::valueOf);
    private static final Parser<String> DEVICE_NAME = new Parser<>("auto|cpu|cuda[:N]",
            v -> valid(lower(v), d -> DEVICE_PATTERN.matcher(d).matches()), v -> v);
    /** A non-negative number of seconds, decimals allowed; shown back without trailing zeros (0.05, 30). */
    private static final Parser<Duration> SECONDS = new Parser<>("a number of seconds", v -> {
        BigDecimal secs = valid(new BigDecimal(v.strip()), d -> d.signum() >= 0);
        return Duration.ofNanos(secs.movePointRight(9).setScale(0, RoundingMode.HALF_UP).longValueExact());
    }, d -> BigDecimal.valueOf(d.toNanos(), 9).stripTrailingZeros().toPlainString());
    /** Bytes, or with a decimal or binary suffix. */
    private static final Parser<Long> SIZE = new Parser<>("a size such as 4GiB, 512MiB, 2GB or 1000 (bytes)", v -> {
        Matcher m = valid(SIZE_PATTERN.matcher(lower(v)), Matcher::matches);
        long unit = valid(SIZE_UNITS.get(m.group(2)), u -> u != null);
        long bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit))
                .setScale(0, RoundingMode.DOWN).longValueExact();
        return valid(bytes, b -> b >= 1);
    }, String::valueOf);
    private static final Parser<String> POOLING = choice("cls|mean|last-token|splade", Map.of(
            "cls", "cls", "mean", "mean", "splade", "splade", "lasttoken", "lasttoken", "last-token", "lasttoken"));
    private static final Parser<String> DTYPE = choice("float32", "float16");

    // ---- The table. ----

    /**
     * One flag.
     *
     * @param metavar the value's name in --help; null for booleans
     * @param defaultValue what parse() applies when the flag is not set; null: stays unset
     * @param defaultText the help's {@code [default: …]}: rendered from {@code defaultValue}, or a
     *     description where there is no value or it is computed
     */
    private record Option<T>(String name, String metavar, Scope scope, T defaultValue, String defaultText,
            String help, Parser<T> parser) {
        boolean bool() {
            return parser == BOOL;
        }
    }

    /** Every option in declaration order, which is also the order of --help. */
    private static final List<Option<?>> TABLE = new ArrayList<>();

    /** An option whose help shows its default value. */
    private static <T> Option<T> option(String name, String metavar, Scope scope, Parser<T> parser, T defaultValue,
            String help) {
        return add(new Option<>(name, metavar, scope, defaultValue, parser.show().apply(defaultValue), help, parser));
    }

    /** An option without a default value ({@code defaultValue} null), or with one computed at start-up. */
    private static <T> Option<T> option(String name, String metavar, Scope scope, Parser<T> parser, T defaultValue,
            String describedDefault, String help) {
        return add(new Option<>(name, metavar, scope, defaultValue, describedDefault, help, parser));
    }

    private static void ignored(String name, String metavar, Parser<?> parser, String help) {
        add(new Option<>(name, metavar, Scope.IGNORED, null, null, help, parser));
    }

    private static <T> Option<T> add(Option<T> o) {
        TABLE.add(o);
        return o;
    }

    private static final Option<String> HOSTNAME = option("hostname", "IP", Scope.SERVER, HOST, "0.0.0.0",
            "Address to listen on. A value that is not an IP address (Docker sets HOSTNAME to the"
                    + " container id) falls back to 0.0.0.0 with a warning");
    private static final Option<Integer> PORT = option("port", "PORT", Scope.SERVER, PORT_NUMBER, 3000,
            "Port for the combined API (both models)");
    private static final Option<Integer> EMBED_PORT = option("embed-port", "PORT", Scope.SERVER, PORT_NUMBER, null,
            "off", "Extra port that serves only the embedder");
    private static final Option<Integer> RERANK_PORT = option("rerank-port", "PORT", Scope.SERVER, PORT_NUMBER, null,
            "off", "Extra port that serves only the reranker");
    private static final Option<Integer> GRPC_PORT = option("grpc-port", "PORT", Scope.SERVER, PORT_NUMBER, null,
            "off", "Port for TEI's gRPC API (tei.v1) over both models");
    private static final Option<Integer> EMBED_GRPC_PORT = option("embed-grpc-port", "PORT", Scope.SERVER,
            PORT_NUMBER, null, "off", "Extra gRPC port that serves only the embedder");
    private static final Option<Integer> RERANK_GRPC_PORT = option("rerank-grpc-port", "PORT", Scope.SERVER,
            PORT_NUMBER, null, "off", "Extra gRPC port that serves only the reranker");
    private static final Option<String> MODEL_ID = option("model-id", "DIR|ID", Scope.SERVER, TEXT, null, "none",
            "TEI's single model; whether it is an embedder or a reranker is found when it loads");
    private static final Option<String> EMBED_MODEL = option("embed-model", "DIR", Scope.SERVER, TEXT, null, "none",
            "Local directory or Hugging Face hub id (owner/name) of the embedding model");
    private static final Option<String> RERANK_MODEL = option("rerank-model", "DIR", Scope.SERVER, TEXT, null, "none",
            "Local directory or Hugging Face hub id (owner/name) of the reranking model");
    private static final Option<String> API_KEY = option("api-key", "KEY", Scope.SERVER, TEXT, null, "none",
            "Require 'Authorization: Bearer KEY' on inference routes");
    private static final Option<Long> PAYLOAD_LIMIT = option("payload-limit", "BYTES", Scope.SERVER, POSITIVE_LONG,
            2_000_000L, "Largest request body accepted");
    private static final Option<Boolean> JSON_OUTPUT = option("json-output", null, Scope.SERVER, BOOL, false,
            "Write log lines as JSON");
    private static final Option<List<String>> CORS_ALLOW_ORIGIN = option("cors-allow-origin", "ORIGIN", Scope.SERVER,
            ORIGINS, List.of(), "any", "Allowed CORS origin; repeat the flag or separate with commas");
    private static final Option<String> DEVICE = option("device", "DEVICE", Scope.SERVER, DEVICE_NAME, "auto",
            "auto, cpu, cuda or cuda:N");
    private static final Option<Boolean> RERANK_PRIORITY = option("rerank-priority", null, Scope.SERVER, BOOL, true,
            "With two models, run the reranker's inputs first and cut the embedder's batches meanwhile");
    private static final Option<Duration> RERANK_PRIORITY_MAX_WAIT = option("rerank-priority-max-wait", "SECONDS",
            Scope.SERVER, SECONDS, Duration.ofMillis(50),
            "Longest the embedder waits while reranker inputs are pending");
    private static final Option<Integer> RERANK_PRIORITY_BATCH_TOKENS = option("rerank-priority-batch-tokens", "N",
            Scope.SERVER, POSITIVE_INT, 4096, "The embedder's token budget per batch while reranks are recent");
    private static final Option<Duration> RERANK_PRIORITY_WINDOW = option("rerank-priority-window", "SECONDS",
            Scope.SERVER, SECONDS, Duration.ofSeconds(1),
            "How long after the last reranker input the embedder keeps that budget");
    private static final Option<Integer> TOKENIZATION_WORKERS = option("tokenization-workers", "N", Scope.SERVER,
            POSITIVE_INT, Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1, 64),
            "CPUs - 1, between 1 and 64", "Tokenizer threads");
    private static final Option<Duration> SHUTDOWN_GRACE_PERIOD = option("shutdown-grace-period", "SECONDS",
            Scope.SERVER, SECONDS, Duration.ofSeconds(30), "How long in-flight requests may run after a shutdown signal");
    private static final Option<Duration> HEADER_READ_TIMEOUT = option("header-read-timeout", "SECONDS",
            Scope.SERVER, SECONDS, Duration.ofSeconds(10), "Longest a request's head may take to arrive from its"
                    + " first byte, and a request body may pause; then the connection is closed. 0: no limit");
    private static final Option<Duration> KEEP_ALIVE_TIMEOUT = option("keep-alive-timeout", "SECONDS",
            Scope.SERVER, SECONDS, Duration.ofSeconds(60),
            "Longest an idle keep-alive connection waits for its next request. 0: no limit");
    private static final Option<Integer> MAX_CONNECTIONS = option("max-connections", "N", Scope.SERVER,
            POSITIVE_INT, 1024, "Open connections per port; more wait in the accept queue until one closes");
    private static final Option<String> OTLP_ENDPOINT = option("otlp-endpoint", "URL", Scope.SERVER, TEXT, null,
            "off", "OpenTelemetry collector for request spans, sent as OTLP over gRPC (e.g. http://localhost:4317);"
                    + " the caller's W3C traceparent is their parent");
    private static final Option<String> OTLP_SERVICE_NAME = option("otlp-service-name", "NAME", Scope.SERVER, TEXT,
            "text-embeddings-inference.server", "The spans' service.name");
    private static final Option<String> TASK = option("task", "TASK", Scope.SERVER, TEXT, null, "none",
            "sentence-similarity: POST / and /invocations answer as /similarity for an embedder (TEI's TASK"
                    + " variable for SageMaker); any other value changes nothing");
    private static final Option<String> ONNXRUNTIME_NATIVE_PATH = option("onnxruntime-native-path", "DIR",
            Scope.SERVER, TEXT, null, "none", "Folder with ONNX Runtime's native libraries already extracted");

    private static final Option<String> REVISION = option("revision", "REV", Scope.MODEL, TEXT, null, "none",
            "Hub revision (branch, tag or commit) to fetch; reported as model_sha in /info");
    private static final Option<String> SERVED_MODEL_NAME = option("served-model-name", "NAME", Scope.MODEL, TEXT,
            null, "from the model", "Name reported by /info and the OpenAI route");
    private static final Option<String> POOLING_MODE = option("pooling", "POOLING", Scope.MODEL, POOLING, null,
            "from the model", "cls, mean, last-token or splade");
    private static final Option<Integer> MAX_CONCURRENT_REQUESTS = option("max-concurrent-requests", "N", Scope.MODEL,
            POSITIVE_INT, 512, "Inputs in flight at once; more are refused with 429");
    private static final Option<Integer> MAX_BATCH_TOKENS = option("max-batch-tokens", "N", Scope.MODEL,
            POSITIVE_INT, null, InferenceSettings.GPU_BATCH_TOKENS + " on a GPU, " + InferenceSettings.CPU_BATCH_TOKENS
                    + " on the CPU", "Token budget per backend batch (the CPU's fits its caches)");
    private static final Option<Integer> MAX_BATCH_REQUESTS = option("max-batch-requests", "N", Scope.MODEL,
            POSITIVE_INT, null, "none", "Most inputs per backend batch");
    private static final Option<Integer> MAX_CLIENT_BATCH_SIZE = option("max-client-batch-size", "N", Scope.MODEL,
            POSITIVE_INT, 32, "Most inputs per request");
    private static final Option<Boolean> AUTO_TRUNCATE = option("auto-truncate", null, Scope.MODEL, BOOL, true,
            "Truncate inputs longer than the model's maximum instead of refusing them");
    private static final Option<String> DEFAULT_PROMPT = option("default-prompt", "TEXT", Scope.MODEL, TEXT, null,
            "none", "Text put before every input; not together with --default-prompt-name");
    private static final Option<String> DEFAULT_PROMPT_NAME = option("default-prompt-name", "NAME", Scope.MODEL, TEXT,
            null, "none", "Key of a prompt in the model's sentence-transformers config");
    private static final Option<Long> GPU_MEM_LIMIT = option("gpu-mem-limit", "SIZE", Scope.MODEL, SIZE, null,
            "unlimited", "GPU memory cap: bytes, or with a suffix: KB, MB, GB, TB (powers of 1000),"
                    + " KiB, MiB, GiB, TiB (powers of 1024)");
    private static final Option<Boolean> CUDA_GRAPHS = option("cuda-graphs", null, Scope.MODEL, BOOL, false,
            "Batches of up to 4,096 tokens of a padding-free export run at fixed shapes whose CUDA graphs are"
                    + " captured once and replayed (single queries without ~250 kernel launches); costs a second"
                    + " copy of the weights on the GPU");
    private static final Option<String> DTYPE_NAME = option("dtype", "DTYPE", Scope.MODEL, DTYPE, null,
            "from the model", "float32 or float16");
    private static final Option<Duration> REQUEST_TIMEOUT = option("request-timeout", "SECONDS", Scope.MODEL, SECONDS,
            Duration.ofSeconds(60), "How long a request may wait for permits and its batches before it is answered"
                    + " 504 and its queued inputs are dropped (TEI has no such limit)");
    private static final Option<Long> MAX_RESPONSE_BYTES = option("max-response-bytes", "SIZE", Scope.MODEL, SIZE,
            128L << 20, "Largest answer one request may ask for (estimated before any inference; larger is 413):"
                    + " one bge-m3 ColBERT answer for 8,192 tokens is ~100 MB");

    static {
        ignored("hf-token", "TOKEN", TEXT, "Ignored as a flag: hub downloads read HF_TOKEN from the environment");
        ignored("hf-api-token", "TOKEN", TEXT, "Ignored as a flag: hub downloads read HF_TOKEN from the environment");
        ignored("huggingface-hub-cache", "DIR", TEXT, "Ignored as a flag: hub downloads read HF_HUB_CACHE / HF_HOME");
        ignored("uds-path", "PATH", TEXT, "Ignored: TEI's python backend only");
        ignored("disable-spans", null, BOOL, "Ignored: in TEI it leaves the span fields out of JSON log lines,"
                + " and Tandem's log lines have none; it does not turn off OTLP spans in TEI either");
        ignored("prometheus-port", "PORT", TEXT, "Ignored: metrics are served on /metrics of each API port");
    }

    /** Every accepted spelling (without the dashes) to its option; per-model forms map to the general option. */
    private static final Map<String, Option<?>> BY_FLAG = new HashMap<>();

    static {
        for (Option<?> o : TABLE) {
            BY_FLAG.put(o.name(), o);
            if (o.scope() == Scope.MODEL) {
                BY_FLAG.put(EMBED + o.name(), o);
                BY_FLAG.put(RERANK + o.name(), o);
            }
        }
    }

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    private Flags() {}

    public static boolean wantsHelp(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                return true;
            }
        }
        return false;
    }

    /** One value and where it came from, so errors can name the flag or variable the user wrote. */
    private record Raw(String value, String source) {}

    private static final class Sources {
        final Map<String, String> cli = new HashMap<>();
        final List<String> cors = new ArrayList<>();
        final Map<String, String> env;

        Sources(Map<String, String> env) {
            this.env = env;
        }

        Raw get(String flag) {
            String v = cli.get(flag);
            if (v != null) {
                return new Raw(v, "--" + flag);
            }
            String var = envName(flag);
            v = env.get(var);
            return v == null || v.isEmpty() ? null : new Raw(v, var);
        }
    }

    static String envName(String flag) {
        return flag.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /**
     * The option's value from the first of {@code flags} that is set (command line, then
     * environment, for each spelling in turn), through the option's parser; else its default.
     */
    private static <T> T value(Sources s, Option<T> o, String... flags) {
        for (String flag : flags) {
            Raw r = s.get(flag);
            if (r != null) {
                return o.parser().parse(r);
            }
        }
        return o.defaultValue();
    }

    private static <T> T server(Sources s, Option<T> o) {
        return value(s, o, o.name());
    }

    /** A model setting: the per-model form, then the general one. */
    private static <T> T setting(Sources s, String prefix, Option<T> o) {
        return value(s, o, prefix + o.name(), o.name());
    }

    public static ServerConfig parse(String[] args, Map<String, String> env) {
        Sources s = readCommandLine(args, env);
        List<String> warnings = new ArrayList<>();

        String hostname = hostname(s, warnings);
        int port = server(s, PORT);
        Integer embedPort = server(s, EMBED_PORT);
        Integer rerankPort = server(s, RERANK_PORT);
        long payloadLimit = server(s, PAYLOAD_LIMIT);
        boolean jsonOutput = server(s, JSON_OUTPUT);
        boolean rerankPriority = server(s, RERANK_PRIORITY);
        String device = server(s, DEVICE);
        int workers = server(s, TOKENIZATION_WORKERS);
        Duration grace = server(s, SHUTDOWN_GRACE_PERIOD);
        Duration priorityMaxWait = server(s, RERANK_PRIORITY_MAX_WAIT);
        int priorityBatchTokens = server(s, RERANK_PRIORITY_BATCH_TOKENS);
        Duration priorityWindow = server(s, RERANK_PRIORITY_WINDOW);

        // Command-line origins (the flag may repeat) replace the environment's.
        List<String> cors = !s.cors.isEmpty() ? s.cors : server(s, CORS_ALLOW_ORIGIN);

        checkPrompts(s, "");
        ModelSettings embed = model(s, EMBED, EMBED_MODEL);
        ModelSettings rerank = model(s, RERANK, RERANK_MODEL);

        for (Option<?> o : TABLE) {
            if (o.scope() == Scope.IGNORED && s.cli.containsKey(o.name())) {
                warnings.add("--" + o.name() + " is accepted for TEI compatibility and ignored");
            }
        }

        return new ServerConfig(hostname, port, embedPort, rerankPort,
                server(s, MODEL_ID), server(s, API_KEY), payloadLimit, jsonOutput, cors, device,
                workers, grace, server(s, ONNXRUNTIME_NATIVE_PATH), embed, rerank, rerankPriority,
                priorityMaxWait, priorityBatchTokens, priorityWindow, server(s, GRPC_PORT), server(s, EMBED_GRPC_PORT),
                server(s, RERANK_GRPC_PORT), server(s, HEADER_READ_TIMEOUT), server(s, KEEP_ALIVE_TIMEOUT),
                server(s, MAX_CONNECTIONS), server(s, OTLP_ENDPOINT), server(s, OTLP_SERVICE_NAME), server(s, TASK),
                warnings);
    }

    private static Sources readCommandLine(String[] args, Map<String, String> env) {
        Sources s = new Sources(env);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                continue;
            }
            String name;
            String inline = null;
            if (a.equals("-p")) {
                name = PORT.name();
            } else if (a.startsWith("-p=")) {
                name = PORT.name();
                inline = a.substring(3);
            } else if (a.startsWith("--") && a.length() > 2) {
                String body = a.substring(2);
                int eq = body.indexOf('=');
                name = eq < 0 ? body : body.substring(0, eq);
                inline = eq < 0 ? null : body.substring(eq + 1);
            } else {
                throw new FlagException("unexpected argument '" + a + "'");
            }
            Option<?> option = BY_FLAG.get(name);
            if (option == null) {
                throw new FlagException("unknown flag --" + name);
            }
            String value;
            if (inline != null) {
                value = inline;
            } else if (option.bool()) {
                // Bare boolean: no value follows, or the next word is another flag.
                boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("-");
                value = hasValue ? args[++i] : "true";
            } else {
                if (i + 1 >= args.length || looksLikeFlag(args[i + 1])) {
                    throw new FlagException("--" + name + ": missing value");
                }
                value = args[++i];
            }
            if (option == CORS_ALLOW_ORIGIN) {
                s.cors.addAll(origins(value));
            } else {
                s.cli.put(name, value);
            }
        }
        return s;
    }

    // Only "--x", -p and -h count: a text value such as a prompt may itself start with a dash.
    private static boolean looksLikeFlag(String a) {
        return (a.startsWith("--") && a.length() > 2) || a.equals("-p") || a.startsWith("-p=") || a.equals("-h");
    }

    private static List<String> origins(String value) {
        List<String> out = new ArrayList<>();
        for (String o : value.split(",")) {
            String t = o.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /**
     * The two prompt flags are one choice: if either is given for a model, the general pair is
     * not consulted for that model at all, so "--default-prompt X --rerank-default-prompt-name Y"
     * means X for the embedder and Y for the reranker rather than a conflict.
     */
    private static void checkPrompts(Sources s, String prefix) {
        if (s.get(prefix + DEFAULT_PROMPT.name()) != null && s.get(prefix + DEFAULT_PROMPT_NAME.name()) != null) {
            throw new FlagException("--" + prefix + DEFAULT_PROMPT.name() + " and --" + prefix
                    + DEFAULT_PROMPT_NAME.name() + " cannot both be set");
        }
    }

    private static ModelSettings model(Sources s, String prefix, Option<String> modelDir) {
        checkPrompts(s, prefix);
        String promptLevel = s.get(prefix + DEFAULT_PROMPT.name()) != null
                || s.get(prefix + DEFAULT_PROMPT_NAME.name()) != null ? prefix : "";

        String pooling = setting(s, prefix, POOLING_MODE);
        String dtype = setting(s, prefix, DTYPE_NAME);
        return new ModelSettings(
                server(s, modelDir),
                setting(s, prefix, REVISION),
                setting(s, prefix, SERVED_MODEL_NAME),
                pooling,
                setting(s, prefix, MAX_CONCURRENT_REQUESTS),
                setting(s, prefix, MAX_BATCH_TOKENS),
                setting(s, prefix, MAX_BATCH_REQUESTS),
                setting(s, prefix, MAX_CLIENT_BATCH_SIZE),
                setting(s, prefix, AUTO_TRUNCATE),
                value(s, DEFAULT_PROMPT, promptLevel + DEFAULT_PROMPT.name()),
                value(s, DEFAULT_PROMPT_NAME, promptLevel + DEFAULT_PROMPT_NAME.name()),
                setting(s, prefix, GPU_MEM_LIMIT),
                setting(s, prefix, CUDA_GRAPHS),
                dtype,
                setting(s, prefix, REQUEST_TIMEOUT),
                setting(s, prefix, MAX_RESPONSE_BYTES));
    }

    private static FlagException bad(Raw r, String expected) {
        return new FlagException(r.source() + ": expected " + expected + ", got '" + r.value() + "'");
    }

    private static String hostname(Sources s, List<String> warnings) {
        Raw r = s.get(HOSTNAME.name());
        if (r == null) {
            return HOSTNAME.defaultValue();
        }
        String v = HOSTNAME.parser().parse(r);
        if (isIpLiteral(v)) {
            return v;
        }
        // TEI does the same: Docker puts the container id in HOSTNAME, so this is routine there.
        warnings.add(r.source() + " '" + v + "' is not an IP address; listening on " + HOSTNAME.defaultValue());
        return HOSTNAME.defaultValue();
    }

    /** Never resolves a name: a DNS lookup at start-up for a container id would only stall. */
    static boolean isIpLiteral(String v) {
        if (IPV4.matcher(v).matches()) {
            return true;
        }
        if (!v.contains(":") || v.startsWith("[")) {
            return false;
        }
        try {
            InetAddress.ofLiteral(v);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Every flag with its environment variable and default. */
    public static String help() {
        StringBuilder b = new StringBuilder();
        b.append("Usage: tandem [OPTIONS]\n\n")
                .append("Every flag can also be set through the environment variable shown.\n")
                .append("Flags: --name VALUE or --name=VALUE; a bare boolean flag means true.\n");
        section(b, "Server", Scope.SERVER);
        b.append("\nModel settings. Each also has an --embed- and a --rerank- form, which wins over the\n")
                .append("general one for that model (command line, then environment, at each level).\n");
        section(b, null, Scope.MODEL);
        b.append("\nAccepted for TEI compatibility and ignored\n");
        section(b, null, Scope.IGNORED);
        b.append("\n  -h, --help\n      Print this help\n");
        return b.toString();
    }

    private static void section(StringBuilder b, String title, Scope scope) {
        if (title != null) {
            b.append('\n').append(title).append('\n');
        }
        for (Option<?> o : TABLE) {
            if (o.scope() != scope) {
                continue;
            }
            String arg = o.bool() ? " [true|false]" : " <" + o.metavar() + ">";
            b.append("  ").append(o == PORT ? "-p, " : "").append("--").append(o.name()).append(arg)
                    .append('\n')
                    .append("      ").append(o.help()).append('\n');
            if (o.scope() == Scope.IGNORED) {
                continue; // their environment variables are not read at all
            }
            b.append("      [env: ").append(envName(o.name())).append("] [default: ")
                    .append(o.defaultText()).append("]\n");
            if (o.scope() == Scope.MODEL) {
                b.append("      per model: --").append(EMBED).append(o.name())
                        .append(" [env: ").append(envName(EMBED + o.name())).append("], --")
                        .append(RERANK).append(o.name())
                        .append(" [env: ").append(envName(RERANK + o.name())).append("]\n");
            }
        }
    }
}
