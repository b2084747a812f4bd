package dev.sortie.core.engine;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.util.List;

/**
 * An experiment recorded in the ledger and ready to start, with the task it runs and the checkpoints an earlier
 * attempt left (restored into the new attempt's work folder; none for a first attempt).
 */
public record PreparedRun(Experiment experiment, TaskConfig task, List<ArtifactRecord> checkpoints) {
    public PreparedRun {
        checkpoints = List.copyOf(checkpoints);
    }

    /** Whether the attempt resumes from an earlier one's checkpoints. */
    public boolean resumed() {
        return !checkpoints.isEmpty();
    }
}
