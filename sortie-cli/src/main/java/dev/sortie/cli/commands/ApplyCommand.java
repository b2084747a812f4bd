package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "apply", mixinStandardHelpOptions = true,
        description = {"Restore the code and params an experiment ran with into the workspace.",
                "Files come back as uncommitted changes; HEAD, branches and the index are left alone."})
public final class ApplyCommand extends ContextCommand {
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
        return 0;
    }
}
