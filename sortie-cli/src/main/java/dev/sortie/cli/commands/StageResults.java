package dev.sortie.cli.commands;

import dev.sortie.cli.access.Experiments;
import dev.sortie.core.engine.StageRun;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Brings what a stage run ({@code sortie run --stage NAME}) produced into the user's workspace, wherever it ran: its
 * {@code dvc.lock}, the outs of the stage and of the stages it depends on (and the params file when the run changed
 * params), from the experiment's saved artifacts; then {@code dvc commit} puts the outs into the user's DVC cache as
 * DVC links them, so {@code dvc status} says the stage is up to date and a later {@code dvc repro} skips it.
 */
final class StageResults {
    private static final System.Logger LOG = System.getLogger(StageResults.class.getName());

    private StageResults() {
    }

    /**
     * Brings the results of the finished stage run {@code e} into {@code projectDir}; {@code env} is the run's
     * environment from sortie.yaml (its PATH finds dvc as the run found it). Returns false (and says why on
     * {@code err}) when something could not be brought back or committed.
     */
    static boolean bringBack(Experiments experiments, Experiment e, Path projectDir, Map<String, String> env, PrintStream err) throws IOException {
        TaskSource source = TaskSource.fromJson(e.task());
        if (source.stage() == null) {
            return true;
        }
        Path root = projectDir.toAbsolutePath().normalize();
        List<ArtifactRecord> saved = experiments.artifacts(e.id()).stream().filter(a -> a.kind() == ArtifactKind.ARTIFACT).toList();
        int files = 0;
        for (String output : source.stageOutputs()) {
            List<ArtifactRecord> of = saved.stream().filter(a -> a.path().equals(output) || a.path().startsWith(output + "/")).toList();
            if (of.isEmpty()) {
                continue; // not written by this run (a stage DVC skipped that had nothing to save, a symlinked out)
            }
            Path target = root.resolve(output).normalize();
            if (!target.startsWith(root) || target.equals(root) || output.equals(".dvc") || output.startsWith(".git")) {
                throw new IllegalArgumentException("refusing to bring '" + output + "' of " + e.name() + " back outside " + root);
            }
            // the workspace's copy may be a link into the DVC cache: it is removed, never written through
            deleteTree(target);
            for (ArtifactRecord r : of) {
                Path file = root.resolve(r.path()).normalize();
                if (!file.startsWith(target)) {
                    throw new IllegalArgumentException("refusing to write '" + r.path() + "' outside " + target);
                }
                experiments.download(e.id(), r, file);
                files++;
            }
        }
        err.println("sortie: stage " + source.stage() + " of " + e.name() + ": brought back " + files + " file(s) ("
                + String.join(", ", source.stageOutputs()) + ") into " + root);
        return commit(root, source, env, err);
    }

    /** {@code dvc commit --force} of the stages the run reproduced, in the user's workspace, with the user's DVC. */
    private static boolean commit(Path root, TaskSource source, Map<String, String> env, PrintStream err) throws IOException {
        // --with-deps: the stage and those it depends on, the chain the run's dvc repro reproduced
        String cmd = "dvc commit --force --quiet --with-deps " + source.stage();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "exec dvc commit --force --quiet --with-deps \"$1\"", "sh", source.stage())
                .directory(root.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException ex) {
            err.println("sortie: " + cmd + " could not start (" + ex.getMessage() + "); the outs are in the workspace but not in DVC's cache");
            return false;
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done;
        try {
            done = p.waitFor(30, TimeUnit.MINUTES);
        } catch (InterruptedException ex) {
            p.destroy();
            Thread.currentThread().interrupt();
            return false;
        }
        if (!done || p.exitValue() != 0) {
            LOG.log(System.Logger.Level.WARNING, "dvc commit in {0} failed: {1}", root, out);
            err.println("sortie: '" + cmd + "' in " + root + " failed"
                    + (done ? " (exit " + p.exitValue() + ")" : " (no end after 30 minutes)") + ": " + out.strip()
                    + "\nsortie: the outs and dvc.lock are in the workspace; run it there to put them in DVC's cache");
            return false;
        }
        return true;
    }

    private static void deleteTree(Path target) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(target);
            return;
        }
        try (Stream<Path> walk = Files.walk(target)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
