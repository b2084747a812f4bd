package dev.sortie.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The start of a command line that runs another JVM as the tests' child, with SIGINT and SIGHUP at their defaults,
 * as a user's terminal gives them ({@code env --default-signal=HUP,INT}). Without it a child inherits the test run's
 * disposition: a test run started as a background job of a non-interactive shell (as a CI script may start it) has
 * SIGINT ignored, one under nohup SIGHUP, and the JVM keeps a signal ignored at its start ignored, so a test's
 * {@code kill -INT} (Ctrl-C on {@code logs -f}) or {@code kill -HUP} would never reach sortie's handler.
 */
public final class ChildJava {
    private static final boolean ENV_RESETS_SIGNALS = probeEnv();

    private ChildJava() {
    }

    /** {@code [env --default-signal=HUP,INT] JAVA}: the JVM running the tests, those signals at their defaults where env can. */
    public static List<String> command() {
        List<String> cmd = new ArrayList<>();
        if (ENV_RESETS_SIGNALS) {
            cmd.add("env");
            cmd.add("--default-signal=HUP,INT");
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        return cmd;
    }

    /** Whether this machine's env can start a command with signals at their defaults (coreutils 8.31+). */
    public static boolean envResetsSignals() {
        return ENV_RESETS_SIGNALS;
    }

    private static boolean probeEnv() {
        try {
            Process p = new ProcessBuilder("env", "--default-signal=HUP,INT", "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0; // coreutils 8.31+
        } catch (Exception e) {
            return false;
        }
    }
}
