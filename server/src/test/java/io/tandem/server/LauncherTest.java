package io.tandem.server;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** "Tandem needs JDK 25": from the jar's Main-Class on an older java, and from the Maven build. */
class LauncherTest {

    private static final Pattern RELEASE_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"(?:1\\.)?(\\d+)[^\"]*\"");

    /** A JDK or JRE older than 25 installed beside this one (e.g. Debian's openjdk-17), if any. */
    private static Optional<Path> olderJava() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(h -> Files.isExecutable(h.resolve("bin/java")) && !Files.isSymbolicLink(h))
                    .filter(h -> feature(h) > 0 && feature(h) < Launcher.REQUIRED)
                    .max(Comparator.comparingInt(LauncherTest::feature))
                    .map(h -> h.resolve("bin/java"));
        }
    }

    private static int feature(Path home) {
        try {
            Matcher m = RELEASE_VERSION.matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void anOlderJavaGetsTheMessageInsteadOfUnsupportedClassVersionError() throws Exception {
        Optional<Path> java = olderJava();
        if (java.isEmpty()) {
            System.out.println("SKIPPED LauncherTest.anOlderJava...: no Java older than 25 under /usr/lib/jvm"
                    + " (apt-get install openjdk-17-jre-headless runs it)");
        }
        assumeTrue(java.isPresent(), "no Java older than 25 under /usr/lib/jvm");
        Path home = java.get().getParent().getParent();
        Process p = new ProcessBuilder(java.get().toString(), "-cp", System.getProperty("java.class.path"),
                "io.tandem.server.Launcher", "--port", "0").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        String version = Files.readString(home.resolve("release")).lines()
                .filter(l -> l.startsWith("JAVA_VERSION=")).findFirst().orElseThrow().replaceAll("JAVA_VERSION=|\"", "");
        assertEquals("Tandem needs JDK 25; this is Java " + version + " (" + home + "). Point JAVA_HOME at a JDK 25"
                + " and run it from there, e.g.\n"
                + "  export JAVA_HOME=/path/to/jdk-25\n"
                + "  \"$JAVA_HOME/bin/java\" -jar server/target/tandem.jar\n", out);
    }

    @Test
    void onJava25TheLauncherRunsTandem() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.tandem.server.Launcher", "--help")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("Usage: tandem [OPTIONS]"), out);
    }

    @Test
    void theLauncherIsJava8ClassFilesAndTheJarStartsWithIt() throws IOException {
        Path classes = Path.of("target/classes");
        byte[] launcher = Files.readAllBytes(classes.resolve("io/tandem/server/Launcher.class"));
        assertEquals(52, ((launcher[6] & 0xff) << 8) | (launcher[7] & 0xff), "class file major version");
        assertTrue(Files.readString(Path.of("pom.xml")).contains("<mainClass>io.tandem.server.Launcher</mainClass>"));
    }

    @Test
    void specificationVersionsOfEveryEra() {
        assertEquals(8, Launcher.feature("1.8"));
        assertEquals(17, Launcher.feature("17"));
        assertEquals(25, Launcher.feature("25"));
        assertEquals(26, Launcher.feature("26.1"));
        assertEquals(0, Launcher.feature("unknown"));
    }

    /** The build says the same before javac's "release version 25 not supported". */
    @Test
    void mavenEnforcesJdk25WithTheJavaHomeLine() throws IOException {
        String pom = Files.readString(Path.of("../pom.xml"));
        Matcher rule = Pattern.compile("<requireJavaVersion>\\s*<version>(.*?)</version>\\s*<message>(.*?)</message>",
                Pattern.DOTALL).matcher(pom);
        assertTrue(rule.find(), "no requireJavaVersion rule in pom.xml");
        assertEquals("[25,)", rule.group(1));
        assertTrue(rule.group(2).startsWith("Tandem needs JDK 25 to build"), rule.group(2));
        assertTrue(rule.group(2).contains("export JAVA_HOME="), rule.group(2));
        assertTrue(pom.contains("<artifactId>maven-enforcer-plugin</artifactId>"));
        List<String> jvmConfig = Files.readAllLines(Path.of("../.mvn/jvm.config"));
        // Maven 3.8's guava warns about sun.misc.Unsafe on JDK 25; the flag must not break an old JDK's start.
        assertEquals(List.of("-XX:+IgnoreUnrecognizedVMOptions --sun-misc-unsafe-memory-access=allow"), jvmConfig);
    }
}
