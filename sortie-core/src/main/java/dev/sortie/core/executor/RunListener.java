package dev.sortie.core.executor;

import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunLocator;
import java.util.List;

/**
 * What a run reports while it goes. Called from the executor's threads, one call at a time per run.
 * Output lines arrive in order; a listener must not block for long.
 */
public interface RunListener {

    /**
     * Called once, just before the first process of the attempt starts, on the thread that starts it; may block.
     * A queue uses it to admit only N commands at a time while the next experiments are prepared.
     */
    default void launching() throws InterruptedException {
    }

    default void started(RunLocator handle) {
    }

    /** The last command of the attempt has exited; outputs are being saved. Called once, even if it never started. */
    default void commandExited() {
    }

    /**
     * How preparing the run goes, for people (syncing code to a host: files and bytes sent so far). Called
     * repeatedly, each message replacing the last; an empty message means done.
     */
    default void progress(String message) {
    }

    /**
     * The run cannot start yet and waits (for a free slot of a pool): why, in one line for people ("waiting for a
     * free slot on pool gpus: 4 of 4 busy, 1 host down (gpu2: ...)"). Said when the wait begins and again when what
     * it waits on changes; the wait ends with {@link #launching()} or with the launch giving up. By default the line
     * is shown like the run's own output.
     */
    default void waiting(String message) {
        output(message);
    }

    /**
     * A line of sortie's own about the run, for people (a timeout reached, a host that answers again), without
     * its line terminator. The command's own output comes through {@link #outputBytes}.
     */
    default void output(String line) {
    }

    /**
     * What the command printed (stdout and stderr merged, in order), exactly as written: a chunk may end in the
     * middle of a line or of a UTF-8 character, and bytes that are not UTF-8 stay as they are. The array is
     * reused after the call returns.
     */
    default void outputBytes(byte[] bytes, int offset, int length) {
    }

    default void metrics(List<MetricPoint> points) {
    }

    /** Checkpoints saved while running and at the end, artifacts at the end. */
    default void saved(List<ArtifactRecord> files) {
    }

    /**
     * The value of {@code metric} the experiment's earlier attempts left recorded (a resumed attempt keeps them), or
     * NaN when there is none: for a metric an executor adds up across attempts, such as a run's cost.
     */
    default double recorded(String metric) {
        return Double.NaN;
    }

    RunListener NONE = new RunListener() {
    };
}
