package dev.sortie.core.executor;

import dev.sortie.core.config.TaskConfig;
import java.nio.file.Path;

/** What {@link Executor#salvage} needs: the task (metric sources, checkpoint and artifact paths) and where the run kept its things here. */
public record SalvageRequest(TaskConfig task, Path logFile, Path runDir, RunListener listener) {
}
