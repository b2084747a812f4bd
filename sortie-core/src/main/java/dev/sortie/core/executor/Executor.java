package dev.sortie.core.executor;

import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunLocator;
import java.io.IOException;
import java.time.Duration;

/**
 * A named place to run. The engine decides what runs where and when; an executor only does the mechanics
 * of starting, watching, stopping and salvaging runs.
 */
public interface Executor extends AutoCloseable {

    String name();

    String type();

    /** Starts a run and returns once it has started; the run reports to {@code request.listener()} until it ends. */
    Execution launch(LaunchRequest request) throws IOException;

    /**
     * Whether the run behind a locator (recorded by another process, perhaps one that died) is still watched. The
     * locator is one this executor's type wrote (or {@link RunLocator#LEGACY}); the engine judges launcher locators
     * ({@link RunLocator#launcher()}) itself.
     */
    Liveness probe(RunLocator handle);

    /**
     * Stops the run behind a locator (one this executor's type wrote; any other stops nothing): SIGTERM to its process group ("checkpoint now and exit"), SIGKILL after
     * {@code grace}. Returns true if something was running.
     */
    boolean stop(RunLocator handle, Duration grace) throws IOException;

    /**
     * Recovers what a run whose supervisor died left behind (log lines, metrics, checkpoints, artifacts) and
     * reports it to the listener, then frees what the run held (its leftover processes, its work folder).
     */
    void salvage(Experiment experiment, SalvageRequest request) throws IOException;

    /**
     * The machines this executor runs on, as run locators name them ({@link dev.sortie.core.model.RunLocator#host()}),
     * for {@code sortie status}; known from config, without connecting anywhere. Empty: this machine.
     */
    default java.util.List<String> instances() {
        return java.util.List.of();
    }

    /**
     * A run is about to be launched here: do what the launch will need and can be done now (connect to the host),
     * so it overlaps with the caller's own preparation (opening the ledger, snapshotting the code). Called on a
     * thread of its own and may block; failures are kept quiet, since the launch meets them again and reports
     * them. Nothing by default.
     */
    default void warmUp() {
    }

    /**
     * Whether a run whose machine went away (a spot interruption, a host lost: see {@link Interruptions}) is continued
     * by a new attempt on a replacement this executor provides (a cloud launches one). False by default: a fixed
     * host that is gone is not replaced.
     */
    default boolean replacesLostHosts() {
        return false;
    }

    @Override
    default void close() {
    }

    /** What {@link #probe} found. */
    enum Liveness {
        /** The supervisor is alive and watching the run. */
        ALIVE,
        /** Nobody watches the run any more: its supervisor is gone. */
        GONE,
        /** Cannot tell now (e.g. the host does not answer). */
        UNKNOWN
    }
}
