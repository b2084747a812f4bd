package dev.sortie.core.executor;

/**
 * What {@code sortie executor test} found: a report for the user (printed on stdout as it is) and the exit code,
 * or an error that kept the check from getting anywhere (printed on stderr with the executor's name).
 *
 * @param report   what the executor or its host is, and what is missing; may be empty
 * @param error    why nothing could be checked (the host did not answer, refused the login...), or null
 * @param exitCode 0 ready, 3 something is missing or failed (the CLI's exit codes: dev.sortie.core.engine.ExitCodes)
 */
public record ExecutorCheck(String report, String error, int exitCode) {
    /** Kept here, not taken from the engine's ExitCodes, so this package does not depend on the engine's. */
    private static final int OK = 0;
    private static final int INFRASTRUCTURE = 3;

    public ExecutorCheck {
        report = report == null ? "" : report;
    }

    /** A check that found everything needed. */
    public static ExecutorCheck ready(String report) {
        return new ExecutorCheck(report, null, OK);
    }

    /** A check that found something missing, said in the report. */
    public static ExecutorCheck notReady(String report) {
        return new ExecutorCheck(report, null, INFRASTRUCTURE);
    }

    /** A check that could not get anywhere. */
    public static ExecutorCheck failed(String error) {
        return new ExecutorCheck("", error, INFRASTRUCTURE);
    }

    public boolean ok() {
        return exitCode == OK;
    }
}
