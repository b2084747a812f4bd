package dev.sortie.core.model;

import java.time.Instant;
import java.util.Objects;

/**
 * Where a run is, as the executor that runs it finds it again from another process: {@code host} is readable
 * ({@code sortie status}, {@code stop} and {@code logs} show it), {@code value} is opaque to everyone but the
 * executors of {@code executorType}, which alone parse it (a local run's pids and start times, a remote run's agent
 * and process group). The engine asks the executor, or its provider, about a locator and never looks inside, except
 * in the two kinds it writes itself: {@link #LAUNCHER} and {@link #LEGACY}.
 */
public record RunLocator(String executorType, String host, String value) {

    /**
     * The type of the locator a sortie process puts on an attempt it is launching (claimed from the queue, syncing
     * code, waiting for a slot): no command runs yet, and the launcher is a process on {@code host}
     * ({@link ProcessLocation} with no command pid).
     */
    public static final String LAUNCHER = "launcher";

    /**
     * The type of a locator read from a ledger written by a release before locators (pids on the host, as a
     * {@link ProcessLocation}): the executors that ran such runs (local, ssh, pools) read it as one of their own.
     */
    public static final String LEGACY = "pids";

    public RunLocator {
        Objects.requireNonNull(executorType, "executorType");
        host = host == null ? "" : host;
        value = value == null ? "" : value;
    }

    /** The locator of a sortie process on {@code host} that launches an attempt whose command has not started. */
    public static RunLocator launcher(String host, long pid, Instant start) {
        return new RunLocator(LAUNCHER, host, new ProcessLocation(pid, start, 0, null).value());
    }

    /** Whether this locator names only the process launching the attempt (no command started yet). */
    public boolean launcher() {
        return LAUNCHER.equals(executorType);
    }

    /** Whether an executor of type {@code type} wrote this locator, or may read it as its own ({@link #LEGACY}). */
    public boolean readableBy(String type) {
        return executorType.equals(type) || LEGACY.equals(executorType);
    }
}
