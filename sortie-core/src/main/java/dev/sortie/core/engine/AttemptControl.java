package dev.sortie.core.engine;

import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.Execution;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets a signal handler stop the attempt a foreground {@code sortie run} is watching: Ctrl-C stops it (status
 * stopped), a SIGTERM/SIGHUP to sortie itself interrupts it (status interrupted, it can be resumed). A detached
 * run (on a remote host) is not stopped by either: sortie stops following it and it goes on.
 */
public final class AttemptControl {
    private final Duration grace;
    private final CountDownLatch recorded = new CountDownLatch(1);
    private volatile Execution execution;
    private volatile boolean interrupted;
    private volatile boolean stopped;
    private volatile Thread launcher;
    private volatile Exception launchFailure;

    public AttemptControl(Duration grace) {
        this.grace = grace;
    }

    public void attach(Execution e) {
        this.execution = e;
        this.launcher = null;
        if (stopped || interrupted) {
            halt(e);
        }
    }

    private void halt(Execution e) {
        if (e instanceof DetachedExecution d) {
            d.detach();
        } else {
            e.stop(grace);
        }
    }

    /** Whether the attempt runs detached from this process: Ctrl-C and signals only stop following it. */
    public boolean detached() {
        return execution instanceof DetachedExecution;
    }

    /** The user asked to stop (Ctrl-C). */
    public void stop() {
        stopped = true;
        Execution e = execution;
        if (e != null) {
            halt(e);
        } else if (launcher != null) {
            launcher.interrupt(); // still launching (waiting for a pool slot, say): give up on it
        }
    }

    /** The executor could not start the run (the attempt is recorded failed with this reason). */
    void launchFailed(Exception e) {
        launchFailure = e;
    }

    /**
     * Why the executor could not start the run, or null if it started (or has not been launched): a
     * {@link dev.sortie.core.config.ConfigException} is the user's to fix, anything else is the infrastructure's.
     */
    public Exception launchFailure() {
        return launchFailure;
    }

    /** The thread that launches the attempt; interrupted by a stop that comes before the run has started. */
    void launching(Thread t) {
        launcher = t;
    }

    boolean stopped() {
        return stopped;
    }

    /** Stop following a detached run, now or as soon as it has started, leaving it running. */
    public void detach() {
        stopped = true;
        Execution e = execution;
        if (e instanceof DetachedExecution d) {
            d.detach();
        }
    }

    /** Sortie itself is being shut down: stop the command and wait until the outcome is recorded. */
    public void interruptAndWait() {
        interrupted = true;
        Execution e = execution;
        if (e != null) {
            halt(e);
        } else if (launcher != null) {
            launcher.interrupt();
        }
        try {
            recorded.await(grace.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    boolean interrupted() {
        return interrupted;
    }

    public void markRecorded() {
        recorded.countDown();
    }
}
