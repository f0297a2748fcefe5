package io.tandem.server.config;

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
 */
public final class Flags {
    private static final String EMBED = "embed-";
    private static final String RERANK = "rerank-";

    private enum Scope {
        SERVER,
        /** Has a general form and an embed-/rerank- form. */
        MODEL,
        /** Only the embed-/rerank- forms exist. */
        PER_MODEL_ONLY,
        /** TEI flags that mean nothing here; accepted so TEI command lines keep starting. */
        IGNORED
    }

    /** {@code metavar} is null for booleans. */
    private record Spec(String name, String metavar, Scope scope, String defaultText, String help) {
        boolean bool() {
            return metavar == null;
        }
    }

    private static final List<Spec> SPECS = List.of(
            new Spec("hostname", "IP", Scope.SERVER, "0.0.0.0",
                    "Address to listen on. A value that is not an IP address (Docker sets HOSTNAME to the"
                            + " container id) falls back to 0.0.0.0 with a warning"),
            new Spec("port", "PORT", Scope.SERVER, "3000", "Port for the combined API (both models)"),
            new Spec("embed-port", "PORT", Scope.SERVER, "off", "Extra port that serves only the embedder"),
            new Spec("rerank-port", "PORT", Scope.SERVER, "off", "Extra port that serves only the reranker"),
            new Spec("model-id", "DIR|ID", Scope.SERVER, "none",
                    "TEI's single model; whether it is an embedder or a reranker is found when it loads"),
            new Spec("embed-model", "DIR", Scope.PER_MODEL_ONLY, "none", "Local directory or Hugging Face hub id (owner/name) of the embedding model"),
            new Spec("rerank-model", "DIR", Scope.PER_MODEL_ONLY, "none", "Local directory or Hugging Face hub id (owner/name) of the reranking model"),
            new Spec("api-key", "KEY", Scope.SERVER, "none", "Require 'Authorization: Bearer KEY' on inference routes"),
            new Spec("payload-limit", "BYTES", Scope.SERVER, "2000000", "Largest request body accepted"),
            new Spec("json-output", null, Scope.SERVER, "false", "Write log lines as JSON"),
            new Spec("cors-allow-origin", "ORIGIN", Scope.SERVER, "any",
                    "Allowed CORS origin; repeat the flag or separate with commas"),
            new Spec("device", "DEVICE", Scope.SERVER, "auto", "auto, cpu, cuda or cuda:N"),
            new Spec("rerank-priority", null, Scope.SERVER, "true",
                    "With two models, run the reranker's inputs first and cut the embedder's batches meanwhile"),
            new Spec("tokenization-workers", "N", Scope.SERVER, "CPUs - 1, between 1 and 64", "Tokenizer threads"),
            new Spec("shutdown-grace-period", "SECONDS", Scope.SERVER, "30",
                    "How long in-flight requests may run after a shutdown signal"),
            new Spec("onnxruntime-native-path", "DIR", Scope.SERVER, "none",
                    "Folder with ONNX Runtime's native libraries already extracted"),
            new Spec("revision", "REV", Scope.MODEL, "none", "Hub revision (branch, tag or commit) to fetch; reported as model_sha in /info"),
            new Spec("served-model-name", "NAME", Scope.MODEL, "from the model",
                    "Name reported by /info and the OpenAI route"),
            new Spec("pooling", "POOLING", Scope.MODEL, "from the model", "cls, mean, last-token or splade"),
            new Spec("max-concurrent-requests", "N", Scope.MODEL, "512",
                    "Inputs in flight at once; more are refused with 429"),
            new Spec("max-batch-tokens", "N", Scope.MODEL, "16384", "Token budget per backend batch"),
            new Spec("max-batch-requests", "N", Scope.MODEL, "none", "Most inputs per backend batch"),
            new Spec("max-client-batch-size", "N", Scope.MODEL, "32", "Most inputs per request"),
            new Spec("auto-truncate", null, Scope.MODEL, "true",
                    "Truncate inputs longer than the model's maximum instead of refusing them"),
            new Spec("default-prompt", "TEXT", Scope.MODEL, "none",
                    "Text put before every input; not together with --default-prompt-name"),
            new Spec("default-prompt-name", "NAME", Scope.MODEL, "none",
                    "Key of a prompt in the model's sentence-transformers config"),
            new Spec("gpu-mem-limit", "SIZE", Scope.MODEL, "unlimited",
                    "GPU memory cap: bytes, or with a suffix: KB, MB, GB, TB (powers of 1000),"
                            + " KiB, MiB, GiB, TiB (powers of 1024)"),
            new Spec("dtype", "DTYPE", Scope.MODEL, "from the model", "float32 or float16"),
            new Spec("hf-token", "TOKEN", Scope.IGNORED, "none", "Ignored as a flag: hub downloads read HF_TOKEN from the environment"),
            new Spec("hf-api-token", "TOKEN", Scope.IGNORED, "none", "Ignored as a flag: hub downloads read HF_TOKEN from the environment"),
            new Spec("huggingface-hub-cache", "DIR", Scope.IGNORED, "none", "Ignored as a flag: hub downloads read HF_HUB_CACHE / HF_HOME"),
            new Spec("uds-path", "PATH", Scope.IGNORED, "none", "Ignored: TEI's python backend only"),
            new Spec("otlp-endpoint", "URL", Scope.IGNORED, "none", "Ignored: no OTLP tracing yet"),
            new Spec("otlp-service-name", "NAME", Scope.IGNORED, "none", "Ignored"),
            new Spec("disable-spans", null, Scope.IGNORED, "false", "Ignored"),
            new Spec("prometheus-port", "PORT", Scope.IGNORED, "none",
                    "Ignored: metrics are served on /metrics of each API port"));

    /** Every accepted spelling (without the dashes) to its spec; per-model forms map to the general spec. */
    private static final Map<String, Spec> BY_FLAG = new HashMap<>();

    static {
        for (Spec s : SPECS) {
            if (s.scope() != Scope.PER_MODEL_ONLY) {
                BY_FLAG.put(s.name(), s);
            }
            if (s.scope() == Scope.MODEL || s.scope() == Scope.PER_MODEL_ONLY) {
                String base = s.scope() == Scope.MODEL ? s.name() : s.name().substring(s.name().indexOf('-') + 1);
                BY_FLAG.put(EMBED + base, s);
                BY_FLAG.put(RERANK + base, s);
            }
        }
    }

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern DEVICE = Pattern.compile("auto|cpu|cuda(:(0|[1-9]\\d{0,8}))?");
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-z]*)");
    private static final Map<String, Long> SIZE_UNITS = Map.ofEntries(
            Map.entry("", 1L), Map.entry("b", 1L),
            Map.entry("kb", 1_000L), Map.entry("mb", 1_000_000L),
            Map.entry("gb", 1_000_000_000L), Map.entry("tb", 1_000_000_000_000L),
            Map.entry("kib", 1L << 10), Map.entry("mib", 1L << 20),
            Map.entry("gib", 1L << 30), Map.entry("tib", 1L << 40));

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

    public static ServerConfig parse(String[] args, Map<String, String> env) {
        Sources s = readCommandLine(args, env);
        List<String> warnings = new ArrayList<>();

        String hostname = hostname(s.get("hostname"), warnings);
        int port = orDefault(port(s.get("port")), 3000);
        Integer embedPort = port(s.get("embed-port"));
        Integer rerankPort = port(s.get("rerank-port"));
        long payloadLimit = orDefault(positiveLong(s.get("payload-limit")), 2_000_000L);
        boolean jsonOutput = orDefault(bool(s.get("json-output")), false);
        boolean rerankPriority = orDefault(bool(s.get("rerank-priority")), true);
        String device = device(s.get("device"));
        int defaultWorkers = Math.clamp(Runtime.getRuntime().availableProcessors() - 1, 1, 64);
        int workers = orDefault(positiveInt(s.get("tokenization-workers")), defaultWorkers);
        Duration grace = orDefault(seconds(s.get("shutdown-grace-period")), Duration.ofSeconds(30));

        List<String> cors = new ArrayList<>();
        if (!s.cors.isEmpty()) {
            cors.addAll(s.cors);
        } else {
            Raw r = s.get("cors-allow-origin");
            if (r != null) {
                addOrigins(cors, r.value());
            }
        }

        checkPrompts(s, "");
        ModelSettings embed = model(s, EMBED);
        ModelSettings rerank = model(s, RERANK);

        for (Spec spec : SPECS) {
            if (spec.scope() == Scope.IGNORED && s.cli.containsKey(spec.name())) {
                warnings.add("--" + spec.name() + " is accepted for TEI compatibility and ignored");
            }
        }

        return new ServerConfig(hostname, port, embedPort, rerankPort,
                text(s.get("model-id")), text(s.get("api-key")), payloadLimit, jsonOutput, cors, device,
                workers, grace, text(s.get("onnxruntime-native-path")), embed, rerank, rerankPriority, warnings);
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
                name = "port";
            } else if (a.startsWith("-p=")) {
                name = "port";
                inline = a.substring(3);
            } else if (a.startsWith("--") && a.length() > 2) {
                String body = a.substring(2);
                int eq = body.indexOf('=');
                name = eq < 0 ? body : body.substring(0, eq);
                inline = eq < 0 ? null : body.substring(eq + 1);
            } else {
                throw new FlagException("unexpected argument '" + a + "'");
            }
            Spec spec = BY_FLAG.get(name);
            if (spec == null) {
                throw new FlagException("unknown flag --" + name);
            }
            String value;
            if (inline != null) {
                value = inline;
            } else if (spec.bool()) {
                // Bare boolean: no value follows, or the next word is another flag.
                boolean hasValue = i + 1 < args.length && !args[i + 1].startsWith("-");
                value = hasValue ? args[++i] : "true";
            } else {
                if (i + 1 >= args.length || looksLikeFlag(args[i + 1])) {
                    throw new FlagException("--" + name + ": missing value");
                }
                value = args[++i];
            }
            if (name.equals("cors-allow-origin")) {
                addOrigins(s.cors, value);
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

    private static void addOrigins(List<String> out, String value) {
        for (String o : value.split(",")) {
            String t = o.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
    }

    /**
     * The two prompt flags are one choice: if either is given for a model, the general pair is
     * not consulted for that model at all, so "--default-prompt X --rerank-default-prompt-name Y"
     * means X for the embedder and Y for the reranker rather than a conflict.
     */
    private static void checkPrompts(Sources s, String prefix) {
        if (s.get(prefix + "default-prompt") != null && s.get(prefix + "default-prompt-name") != null) {
            throw new FlagException("--" + prefix + "default-prompt and --" + prefix
                    + "default-prompt-name cannot both be set");
        }
    }

    private static ModelSettings model(Sources s, String prefix) {
        checkPrompts(s, prefix);
        String promptLevel = s.get(prefix + "default-prompt") != null || s.get(prefix + "default-prompt-name") != null
                ? prefix : "";

        String pooling = pooling(setting(s, prefix, "pooling"));
        String dtype = dtype(setting(s, prefix, "dtype"));
        return new ModelSettings(
                text(s.get(prefix + "model")),
                text(setting(s, prefix, "revision")),
                text(setting(s, prefix, "served-model-name")),
                pooling,
                orDefault(positiveInt(setting(s, prefix, "max-concurrent-requests")), 512),
                orDefault(positiveInt(setting(s, prefix, "max-batch-tokens")), 16384),
                positiveInt(setting(s, prefix, "max-batch-requests")),
                orDefault(positiveInt(setting(s, prefix, "max-client-batch-size")), 32),
                orDefault(bool(setting(s, prefix, "auto-truncate")), true),
                text(s.get(promptLevel + "default-prompt")),
                text(s.get(promptLevel + "default-prompt-name")),
                size(setting(s, prefix, "gpu-mem-limit")),
                dtype);
    }

    private static Raw setting(Sources s, String prefix, String name) {
        Raw r = s.get(prefix + name);
        return r != null ? r : s.get(name);
    }

    private static <T> T orDefault(T v, T def) {
        return v != null ? v : def;
    }

    private static FlagException bad(Raw r, String expected) {
        return new FlagException(r.source() + ": expected " + expected + ", got '" + r.value() + "'");
    }

    private static String text(Raw r) {
        return r == null || r.value().isEmpty() ? null : r.value();
    }

    private static Integer positiveInt(Raw r) {
        if (r == null) {
            return null;
        }
        try {
            int v = Integer.parseInt(r.value().strip());
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(r, "a positive integer");
    }

    private static Long positiveLong(Raw r) {
        if (r == null) {
            return null;
        }
        try {
            long v = Long.parseLong(r.value().strip());
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(r, "a positive integer");
    }

    private static Integer port(Raw r) {
        if (r == null) {
            return null;
        }
        try {
            int v = Integer.parseInt(r.value().strip());
            if (v >= 0 && v <= 65535) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(r, "a port number 0..65535");
    }

    private static Boolean bool(Raw r) {
        if (r == null) {
            return null;
        }
        // true/false as TEI documents; 1/0, yes/no and on/off because clap's switches read those from env.
        return switch (r.value().strip().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw bad(r, "true or false");
        };
    }

    private static String device(Raw r) {
        if (r == null) {
            return "auto";
        }
        String v = r.value().strip().toLowerCase(Locale.ROOT);
        if (!DEVICE.matcher(v).matches()) {
            throw bad(r, "auto|cpu|cuda[:N]");
        }
        return v;
    }

    private static String pooling(Raw r) {
        if (r == null) {
            return null;
        }
        return switch (r.value().strip().toLowerCase(Locale.ROOT)) {
            case "cls" -> "cls";
            case "mean" -> "mean";
            case "splade" -> "splade";
            case "lasttoken", "last-token" -> "lasttoken";
            default -> throw bad(r, "cls|mean|last-token|splade");
        };
    }

    private static String dtype(Raw r) {
        if (r == null) {
            return null;
        }
        return switch (r.value().strip().toLowerCase(Locale.ROOT)) {
            case "float32" -> "float32";
            case "float16" -> "float16";
            default -> throw bad(r, "float32|float16");
        };
    }

    private static Long size(Raw r) {
        if (r == null) {
            return null;
        }
        Matcher m = SIZE.matcher(r.value().strip().toLowerCase(Locale.ROOT));
        if (m.matches()) {
            Long unit = SIZE_UNITS.get(m.group(2));
            if (unit != null) {
                try {
                    long bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit))
                            .setScale(0, RoundingMode.DOWN).longValueExact();
                    if (bytes >= 1) {
                        return bytes;
                    }
                } catch (ArithmeticException e) {
                    // too large: reported below
                }
            }
        }
        throw bad(r, "a size such as 4GiB, 512MiB, 2GB or 1000 (bytes)");
    }

    private static Duration seconds(Raw r) {
        if (r == null) {
            return null;
        }
        try {
            BigDecimal secs = new BigDecimal(r.value().strip());
            if (secs.signum() >= 0) {
                return Duration.ofNanos(secs.movePointRight(9).setScale(0, RoundingMode.HALF_UP).longValueExact());
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // reported below
        }
        throw bad(r, "a number of seconds");
    }

    private static String hostname(Raw r, List<String> warnings) {
        if (r == null) {
            return "0.0.0.0";
        }
        String v = r.value().strip();
        if (isIpLiteral(v)) {
            return v;
        }
        // TEI does the same: Docker puts the container id in HOSTNAME, so this is routine there.
        warnings.add(r.source() + " '" + v + "' is not an IP address; listening on 0.0.0.0");
        return "0.0.0.0";
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
        section(b, "Server", Scope.SERVER, Scope.PER_MODEL_ONLY);
        b.append("\nModel settings. Each also has an --embed- and a --rerank- form, which wins over the\n")
                .append("general one for that model (command line, then environment, at each level).\n");
        section(b, null, Scope.MODEL);
        b.append("\nAccepted for TEI compatibility and ignored\n");
        section(b, null, Scope.IGNORED);
        b.append("\n  -h, --help\n      Print this help\n");
        return b.toString();
    }

    private static void section(StringBuilder b, String title, Scope... scopes) {
        if (title != null) {
            b.append('\n').append(title).append('\n');
        }
        for (Spec s : SPECS) {
            if (!List.of(scopes).contains(s.scope())) {
                continue;
            }
            String arg = s.bool() ? " [true|false]" : " <" + s.metavar() + ">";
            b.append("  ").append(s.name().equals("port") ? "-p, " : "").append("--").append(s.name()).append(arg)
                    .append('\n')
                    .append("      ").append(s.help()).append('\n');
            if (s.scope() == Scope.IGNORED) {
                continue; // their environment variables are not read at all
            }
            b.append("      [env: ").append(envName(s.name())).append("] [default: ")
                    .append(s.defaultText()).append("]\n");
            if (s.scope() == Scope.MODEL) {
                b.append("      per model: --").append(EMBED).append(s.name())
                        .append(" [env: ").append(envName(EMBED + s.name())).append("], --")
                        .append(RERANK).append(s.name())
                        .append(" [env: ").append(envName(RERANK + s.name())).append("]\n");
            }
        }
    }
}
