package dev.sortie.core.engine;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.model.Experiment;

/** An experiment recorded in the ledger and ready to start, with the task it runs. */
public record PreparedRun(Experiment experiment, TaskConfig task, boolean resumed) {
}
