package dev.sortie.agent;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.store.BlobStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One attempt for the {@link RunSupervisor}: the argv of each stage (setup, then the command) to run in
 * {@code cwd}, the environment to add, where output goes, and where declared outputs are saved.
 *
 * @param workRoot the experiment's work folder (checkpoint and artifact paths are relative to it)
 * @param cwd      where the commands run: the task's workdir inside {@code workRoot}
 * @param eventsFile where the SDKs append events ({@code $SORTIE_EVENTS_FILE}); null for none
 */
public record RunSpec(
        String experimentId,
        TaskConfig task,
        List<List<String>> stages,
        Map<String, String> environment,
        Path workRoot,
        Path cwd,
        Path logFile,
        Path eventsFile,
        BlobStore store,
        RunListener listener) {

    public RunSpec {
        stages = stages.stream().map(List::copyOf).toList();
        environment = Map.copyOf(environment);
    }
}
