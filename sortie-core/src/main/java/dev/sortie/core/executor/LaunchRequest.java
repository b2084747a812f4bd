package dev.sortie.core.executor;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything an executor needs to start one attempt of an experiment.
 *
 * @param code        how to lay the experiment's code out in a folder
 * @param files       files to write into the work folder after the code (the params file), by relative path
 * @param command     the argv to execute in the work folder (a shell line arrives as {@code sh -c LINE})
 * @param environment variables to add to the command's environment (params, SORTIE_*)
 * @param logFile     where the run's output must end up on this machine, appended to as it is written
 * @param runDir      this experiment's folder on this machine (logs, scratch)
 * @param restore     checkpoints to put back into the work folder before the command starts (a resumed run)
 */
public record LaunchRequest(
        Experiment experiment,
        TaskConfig task,
        CodeSource code,
        Map<String, byte[]> files,
        List<String> command,
        Map<String, String> environment,
        Path logFile,
        Path runDir,
        List<ArtifactRecord> restore,
        RunListener listener) {

    public LaunchRequest {
        files = Map.copyOf(files);
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        restore = List.copyOf(restore);
    }
}
