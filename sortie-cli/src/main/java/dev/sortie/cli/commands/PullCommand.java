package dev.sortie.cli.commands;

import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = "Copy an experiment's saved artifacts and checkpoints from the store into the workspace (or --to DIR).")
public final class PullCommand extends ContextCommand {
    @Parameters(index = "0", paramLabel = "EXP", description = "Experiment name or id.")
    String experiment;

    @Parameters(index = "1..*", paramLabel = "PATH", description = "Only these paths (files or folders, as saved).")
    List<String> only = new ArrayList<>();

    @Option(names = "--to", paramLabel = "DIR", description = "Where to put the files (default: the project folder).")
    Path target;

    @Override
    public Integer call() throws Exception {
        dev.sortie.cli.access.Experiments experiments = experiments();
        Experiment e = experiments.find(experiment);
        Path root = (target == null ? context().pathsOrHere().projectDir() : context().workingDir().resolve(target)).normalize();
        int n = 0;
        for (ArtifactRecord r : experiments.artifacts(e.id())) {
            if (!only.isEmpty() && only.stream().noneMatch(p -> r.path().equals(p) || r.path().startsWith(p.endsWith("/") ? p : p + "/"))) {
                continue;
            }
            Path file = root.resolve(r.path()).normalize();
            if (!file.startsWith(root)) {
                throw new IllegalArgumentException("refusing to write '" + r.path() + "' outside " + root);
            }
            experiments.download(e.id(), r, file);
            out().println(r.kind().name().toLowerCase() + "  " + r.path());
            n++;
        }
        err().println("sortie: pulled " + n + " file(s) of " + e.name() + " into " + root);
        return n == 0 && !only.isEmpty() ? 2 : 0;
    }
}
