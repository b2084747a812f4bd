package dev.sortie.agent;

import dev.sortie.core.config.TaskConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The layout of a run's work folder: the root holds the project's code, the command runs in the task's
 * workdir inside it, and two folders there are given to every run whatever its config says: files written to
 * {@code $SORTIE_CHECKPOINT_DIR} are saved as checkpoints, files in {@code $SORTIE_ARTIFACT_DIR} as artifacts.
 * Saved paths are recorded relative to the root.
 */
public record WorkFolders(TaskConfig task, Path root, Path cwd) {
    public static final String CHECKPOINT_DIR = ".sortie/checkpoints";
    public static final String ARTIFACT_DIR = ".sortie/artifacts";

    /** The checkpoint folder the command is told about: the one declared, when it is a single folder, else the default. */
    public Path checkpointDir() {
        if (task.checkpoints().size() == 1) {
            return cwd.resolve(task.checkpoints().get(0)).normalize();
        }
        return cwd.resolve(CHECKPOINT_DIR);
    }

    public Path artifactDir() {
        return cwd.resolve(ARTIFACT_DIR);
    }

    public List<String> checkpoints() {
        List<String> paths = new ArrayList<>(task.checkpoints());
        paths.add(CHECKPOINT_DIR);
        return fromRoot(paths);
    }

    public List<String> artifacts() {
        List<String> paths = new ArrayList<>(task.artifacts());
        paths.add(ARTIFACT_DIR);
        // a DVC pipeline's dvc.lock and uncached outs, kept as dvc exp keeps them (see DvcResults)
        DvcResults.paths(cwd).stream().filter(p -> !paths.contains(p)).forEach(paths::add);
        return fromRoot(paths);
    }

    private List<String> fromRoot(List<String> paths) {
        Path rel = root.relativize(cwd);
        List<String> out = new ArrayList<>(paths.size());
        for (String p : paths) {
            out.add(rel.toString().isEmpty() ? p : rel.resolve(p).normalize().toString().replace('\\', '/'));
        }
        return out;
    }
}
