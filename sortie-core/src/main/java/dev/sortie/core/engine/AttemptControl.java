package dev.sortie.core.engine;

import dev.sortie.core.executor.Execution;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets a signal handler stop the attempt a foreground {@code sortie run} is watching: Ctrl-C stops it (status
 * stopped), a SIGTERM/SIGHUP to sortie itself interrupts it (status interrupted, it can be resumed).
 */
public final class AttemptControl {
    private final Duration grace;
    private final CountDownLatch recorded = new CountDownLatch(1);
    private volatile Execution execution;
    private volatile boolean interrupted;
    private volatile boolean stopped;

    public AttemptControl(Duration grace) {
        this.grace = grace;
    }

    void attach(Execution e) {
        this.execution = e;
        if (stopped || interrupted) {
            e.stop(grace);
        }
    }

    /** The user asked to stop (Ctrl-C). */
    public void stop() {
        stopped = true;
        Execution e = execution;
        if (e != null) {
            e.stop(grace);
        }
    }

    /** Sortie itself is being shut down: stop the command and wait until the outcome is recorded. */
    public void interruptAndWait() {
        interrupted = true;
        Execution e = execution;
        if (e != null) {
            e.stop(grace);
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

    void markRecorded() {
        recorded.countDown();
    }
}
