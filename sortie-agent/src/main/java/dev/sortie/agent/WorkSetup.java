package dev.sortie.agent;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lays out one attempt's work folder and builds its {@link RunSpec}: the code (written by the caller's
 * {@link Code}), the extra files (the params file), checkpoints restored for a resumed run, the checkpoint and
 * artifact folders, and the environment every run gets. The local executor and the agent on a remote host
 * prepare runs the same way through it.
 */
public final class WorkSetup {

    /** Set by the local executor's caller when the run shares the user's DVC cache. */
    static final String DVC_LOCAL_CONFIG = ".dvc/config.local";
    /**
     * Before the run (after its setup), DVC-tracked data is checked out of the user's cache (as {@code dvc exp run} does), so
     * {@code dvc repro} finds its data sources and unchanged stages' outputs; where dvc is not on the PATH the
     * run's own command decides. {@code --allow-missing}: what has no data yet is no failure of the checkout (the
     * outs of a stage that has never run, which a project without a committed dvc.lock has for every stage, or data
     * only in a DVC remote); {@code dvc repro} then makes it or names what is missing. Any other failed checkout is
     * said in the log and the run goes on.
     */
    static final List<String> DVC_CHECKOUT = List.of("sh", "-c", "if command -v dvc >/dev/null 2>&1; then"
            + " dvc checkout --quiet --allow-missing || echo \"[sortie] dvc checkout exited $?; the run goes on\" >&2; fi");

    /** Writes the code into an empty folder. */
    @FunctionalInterface
    public interface Code {
        void writeTo(Path root) throws IOException;
    }

    /**
     * @param runDir  the experiment's folder: the work copy goes to {@code runDir/work}, SDK events to
     *                {@code runDir/logs/events-<attempt>.jsonl}
     * @param command the argv of the command; the task's setup line, if any, runs before it
     */
    public static RunSpec prepare(String experimentId, int attempt, TaskConfig task, Code code, Map<String, byte[]> files,
                                  List<String> command, Map<String, String> environment, Path runDir, Path logFile,
                                  List<ArtifactRecord> restore, BlobStore store, RunListener listener) throws IOException {
        Path root = workRoot(runDir);
        FileTrees.delete(root);
        Files.createDirectories(root);
        code.writeTo(root);
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Path target = root.resolve(f.getKey()).normalize();
            if (!target.startsWith(root)) {
                throw new IOException("refusing to write '" + f.getKey() + "' outside the work folder");
            }
            Files.createDirectories(target.getParent());
            Files.write(target, f.getValue());
        }
        excludeFromGit(root, files.keySet());
        Path cwd = root.resolve(task.workdir()).normalize();
        Files.createDirectories(cwd);
        WorkFolders folders = new WorkFolders(task, root, cwd);
        new OutputCollector(root, store).restore(restore);
        Files.createDirectories(folders.checkpointDir());
        Files.createDirectories(folders.artifactDir());

        Map<String, String> env = new LinkedHashMap<>(environment);
        env.put("SORTIE_CHECKPOINT_DIR", folders.checkpointDir().toString());
        env.put("SORTIE_ARTIFACT_DIR", folders.artifactDir().toString());
        Path events = eventsFile(runDir, attempt);
        env.put("SORTIE_EVENTS_FILE", events.toString());
        List<List<String>> stages = new ArrayList<>();
        if (task.setup() != null) {
            stages.add(List.of("sh", "-c", task.setup()));
        }
        // Sortie copies small DVC-tracked data from the cache itself (DvcDataCheckout): no DVC start-up per run
        if (files.containsKey(DVC_LOCAL_CONFIG) && !DvcDataCheckout.checkout(root)) {
            stages.add(DVC_CHECKOUT); // after setup, which may be what installs dvc
        }
        stages.add(command);
        return new RunSpec(experimentId, task, stages, env, root, cwd, logFile, events, store, listener);
    }

    /**
     * Files Sortie adds to a work copy that is a git checkout (the params file of a task without one) are listed in
     * its {@code .git/info/exclude}, so {@code git status} there shows only what the run changes.
     */
    private static void excludeFromGit(Path root, java.util.Collection<String> paths) throws IOException {
        Path info = root.resolve(".git").resolve("info");
        if (paths.isEmpty() || !Files.isDirectory(root.resolve(".git"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.createDirectories(info);
        StringBuilder lines = new StringBuilder();
        for (String p : paths) {
            lines.append('/').append(p.replaceAll("([\\\\*?\\[!#])", "\\\\$1")).append('\n');
        }
        Files.writeString(info.resolve("exclude"), lines, java.nio.charset.StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    /** The attempt's copy of the code. */
    public static Path workRoot(Path runDir) {
        return runDir.resolve("work");
    }

    /** Where the SDKs of one attempt append their events (sdk/PROTOCOL.md). */
    public static Path eventsFile(Path runDir, int attempt) {
        return runDir.resolve("logs").resolve("events-" + attempt + ".jsonl");
    }

    private WorkSetup() {
    }
}
