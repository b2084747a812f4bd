package dev.sortie.core.engine;

/** The exit codes of every sortie command. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The experiment failed (or was stopped or interrupted). */
    public static final int EXPERIMENT_FAILED = 1;
    /** Bad usage or configuration: the user can fix it by changing what they typed or wrote. */
    public static final int USAGE = 2;
    /** Infrastructure: a host, the ledger, the store, the disk. */
    public static final int INFRASTRUCTURE = 3;

    private ExitCodes() {
    }
}
