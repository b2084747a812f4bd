package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "apply", mixinStandardHelpOptions = true,
        description = {"Restore the code and params an experiment ran with into the workspace.",
                "Files come back as uncommitted changes; HEAD, branches and the index are left alone.",
                "In a DVC project, also the run's dvc.lock and uncached outs, and the cached outs with 'dvc checkout'."})
public final class ApplyCommand extends ContextCommand {
    private static final System.Logger LOG = System.getLogger(ApplyCommand.class.getName());

    @Parameters(paramLabel = "EXP", description = "Experiment name or id.")
    String experiment;

    @Override
    public Integer call() throws Exception {
        ExperimentService service = context().service();
        Experiment e = service.find(experiment);
        if (e.code() == null || e.code().snapshotCommit() == null) {
            throw new IllegalArgumentException(e.name() + " has no code snapshot to apply");
        }
        service.snapshots().apply(e.code().snapshotCommit());
        err().println("sortie: applied " + e.name() + " (snapshot " + e.code().snapshotCommit().substring(0, 12)
                + ") to the workspace; 'git status' shows what changed");
        Path projectDir = service.paths().projectDir();
        if (Files.isDirectory(projectDir.resolve(".dvc"))) {
            applyDvcResults(e, projectDir);
        }
        return 0;
    }

    /**
     * As {@code dvc exp apply}: the run's {@code dvc.lock} and the outs DVC does not cache (kept with the experiment),
     * then {@code dvc checkout} for the cached outs (the run's DVC put them into the project's cache, or a remote
     * run's were brought back into it), so {@code dvc status} is clean.
     */
    private void applyDvcResults(Experiment e, Path projectDir) throws IOException, InterruptedException {
        List<ArtifactRecord> files = experiments().artifacts(e.id());
        List<String> lockDirs = new ArrayList<>();
        for (ArtifactRecord r : files) {
            if (r.kind() == ArtifactKind.ARTIFACT && (r.path().equals("dvc.lock") || r.path().endsWith("/dvc.lock"))) {
                lockDirs.add(r.path().substring(0, r.path().length() - "dvc.lock".length()));
            }
        }
        if (lockDirs.isEmpty()) {
            return; // not a pipeline run (or one from before dvc.lock was kept): the snapshot is all there is
        }
        int n = 0;
        for (ArtifactRecord r : files) {
            if (r.kind() != ArtifactKind.ARTIFACT || lockDirs.stream().noneMatch(d -> r.path().startsWith(d))
                    || r.path().equals(dev.sortie.core.dvc.DvcPlots.MANIFEST)) {
                continue; // the plots' manifest is Sortie's note of how to draw them, not a file of the project
            }
            Path target = projectDir.resolve(r.path()).normalize();
            if (!target.startsWith(projectDir)) {
                throw new IllegalArgumentException("refusing to write '" + r.path() + "' outside " + projectDir);
            }
            if (Files.isSymbolicLink(target)) {
                Files.delete(target); // a DVC link into its cache: replaced, never written through
            }
            experiments().download(e.id(), r, target);
            n++;
        }
        err().println("sortie: restored dvc.lock and " + (n - lockDirs.size()) + " other file(s) " + e.name() + " kept");
        // --force as dvc exp apply: an out the workspace changed is replaced (apply replaces the code the same way),
        // never kept half; what DVC computed in the workspace is in its cache already
        List<String> checkout = List.of("dvc", "checkout", "--quiet", "--force");
        Process p;
        try {
            p = new ProcessBuilder(checkout).directory(projectDir.toFile()).redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException notFound) {
            LOG.log(System.Logger.Level.DEBUG, "dvc could not be started: {0}", notFound);
            err().println("sortie: dvc is not on the PATH; run 'dvc checkout' in " + projectDir + " to check the outs of "
                    + e.name() + " out of the DVC cache");
            return;
        }
        int code = p.waitFor();
        if (code != 0) {
            err().println("sortie: 'dvc checkout' exited " + code + " (above: what it could not check out); the rest of "
                    + e.name() + " is applied");
        } else {
            err().println("sortie: checked the outs of " + e.name() + " out of the DVC cache ('dvc status' is clean)");
        }
    }
}
