package io.tandem.server;

/**
 * The jar's Main-Class. It is compiled for Java 8 class files (server/pom.xml) so that an older
 * {@code java} can load it and say what is wrong: the rest of Tandem is Java 25 class files, and
 * an older JVM would only print an {@code UnsupportedClassVersionError} about {@link Main}. The
 * check runs before {@link Main} is touched: a static call is resolved when it first executes.
 */
public final class Launcher {

    static final int REQUIRED = 25;

    private Launcher() {
    }

    public static void main(String[] args) {
        String version = System.getProperty("java.specification.version", "");
        if (feature(version) < REQUIRED) {
            System.err.println(message(System.getProperty("java.version"), System.getProperty("java.home")));
            System.exit(1);
            return;
        }
        Main.main(args);
    }

    /** The one message both the launcher and the Maven build give on an old JDK. */
    static String message(String javaVersion, String javaHome) {
        return "Tandem needs JDK " + REQUIRED + "; this is Java " + javaVersion + " (" + javaHome + ")."
                + " Point JAVA_HOME at a JDK " + REQUIRED + " and run it from there, e.g.\n"
                + "  export JAVA_HOME=/path/to/jdk-" + REQUIRED + "\n"
                + "  \"$JAVA_HOME/bin/java\" -jar server/target/tandem.jar";
    }

    /** "1.8" (Java 8 and older) → 8, "17" → 17; anything unreadable counts as too old. */
    static int feature(String specificationVersion) {
        String v = specificationVersion.startsWith("1.") ? specificationVersion.substring(2) : specificationVersion;
        int dot = v.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? v : v.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
