package dev.sortie.core.executor;

import dev.sortie.core.model.Experiment;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * An executor whose runs outlive the sortie process that launched them: an agent on the host runs and watches
 * the command and keeps what it reports there, and any sortie process can collect it later. Such runs are never
 * "interrupted" because a laptop went away; they end when the command ends, or when their host is lost.
 *
 * <p>At most one process collects a run at a time (the others see {@link Collection#BUSY}); collecting twice is
 * harmless (metrics and artifacts are recorded idempotently), losing a collector loses nothing.
 */
public interface DetachableExecutor extends Executor {

    /**
     * Collects what a running experiment's attempt reported since this machine last looked (metrics, log lines,
     * checkpoints, artifacts) without waiting, and says whether it has ended.
     */
    Collection catchUp(Experiment experiment, SalvageRequest request) throws IOException;

    /**
     * Follows a running experiment's attempt from where this machine's copy of it ends until it ends: the way
     * {@code sortie logs -f} and a restarted queue re-attach. Empty when another process follows it already.
     * {@link DetachedExecution#detach()} stops following and leaves the run going.
     */
    Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) throws IOException;

    /**
     * Asks a running experiment's attempt to stop (SIGTERM to its command, SIGKILL after {@code grace}) wherever
     * it runs; returns at once, true if something was running. Its last outputs are collected like any end.
     */
    boolean stop(Experiment experiment, Duration grace) throws IOException;

    /**
     * What {@link #catchUp} found.
     *
     * @param silence for {@link State#UNREACHABLE}: which host does not answer, since when and why (null if unknown)
     */
    record Collection(State state, RunOutcome outcome, HostSilence silence) {
        public static final Collection BUSY = new Collection(State.BUSY, null);
        public static final Collection RUNNING = new Collection(State.RUNNING, null);
        public static final Collection UNREACHABLE = new Collection(State.UNREACHABLE, null);

        public Collection(State state, RunOutcome outcome) {
            this(state, outcome, null);
        }

        public static Collection ended(RunOutcome outcome) {
            return new Collection(State.ENDED, outcome);
        }

        /** The run's host does not answer (since {@code silence.since()}); it is not lost yet. */
        public static Collection unreachable(HostSilence silence) {
            return new Collection(State.UNREACHABLE, null, silence);
        }

        public enum State {
            /** Another process is collecting this run. */
            BUSY,
            /** Collected up to now; the run goes on. */
            RUNNING,
            /** The host does not answer (not yet for long enough to call it lost). */
            UNREACHABLE,
            /** The run has ended (or its host was lost) and everything it left is collected: see {@link #outcome}. */
            ENDED
        }
    }

    /**
     * A host that does not answer, as a collection saw it: its key (as run handles and {@link Executor#instances()}
     * name it), how to show it, since when it has not answered (the first failed look after the last one that
     * answered), why, and after how long of that its runs are declared lost.
     */
    record HostSilence(String host, String display, java.time.Instant since, String reason, Duration lostAfter) {
    }
}
