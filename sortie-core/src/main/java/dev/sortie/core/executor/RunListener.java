package dev.sortie.core.executor;

import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunHandle;
import java.util.List;

/**
 * What a run reports while it goes. Called from the executor's threads, one call at a time per run.
 * Output lines arrive in order; a listener must not block for long.
 */
public interface RunListener {

    default void started(RunHandle handle) {
    }

    /** A line the command printed (stdout and stderr merged, in order), without its line terminator. */
    default void output(String line) {
    }

    default void metrics(List<MetricPoint> points) {
    }

    /** Checkpoints saved while running and at the end, artifacts at the end. */
    default void saved(List<ArtifactRecord> files) {
    }

    RunListener NONE = new RunListener() {
    };
}
