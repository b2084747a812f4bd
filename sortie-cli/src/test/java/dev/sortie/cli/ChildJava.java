package dev.sortie.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The start of a command line that runs another JVM as the tests' child, with SIGINT at its default as the
 * {@code sortie} launcher gives it ({@code env --default-signal=INT}). Without it a child inherits the test run's
 * disposition, and a test run started as a background job of a non-interactive shell (as a CI script may start it)
 * has SIGINT ignored: the JVM keeps a signal ignored at its start ignored, so a test's {@code kill -INT} (Ctrl-C on
 * {@code logs -f}) would never reach sortie's handler.
 */
public final class ChildJava {
    private static final boolean ENV_RESETS_SIGNALS = envResetsSignals();

    private ChildJava() {
    }

    /** {@code [env --default-signal=INT] JAVA}: the JVM running the tests, SIGINT at its default where env can. */
    public static List<String> command() {
        List<String> cmd = new ArrayList<>();
        if (ENV_RESETS_SIGNALS) {
            cmd.add("env");
            cmd.add("--default-signal=INT");
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        return cmd;
    }

    private static boolean envResetsSignals() {
        try {
            Process p = new ProcessBuilder("env", "--default-signal=INT", "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0; // coreutils 8.31+
        } catch (Exception e) {
            return false;
        }
    }
}
