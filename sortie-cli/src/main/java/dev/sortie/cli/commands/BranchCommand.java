package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "branch", mixinStandardHelpOptions = true,
        description = "Make a git branch of the code (and params) an experiment ran with. The current branch is not changed.")
public final class BranchCommand extends ContextCommand {
    @Parameters(index = "0", paramLabel = "EXP", description = "Experiment name or id.")
    String experiment;

    @Parameters(index = "1", paramLabel = "NAME", description = "The new branch's name.")
    String branch;

    @Override
    public Integer call() throws Exception {
        ExperimentService service = context().service();
        Experiment e = service.find(experiment);
        if (e.code() == null || e.code().snapshotCommit() == null) {
            throw new IllegalArgumentException(e.name() + " has no code snapshot");
        }
        service.snapshots().branch(e.code().snapshotCommit(), branch);
        err().println("sortie: created branch " + branch + " at " + e.code().snapshotCommit().substring(0, 12) + " (" + e.name() + ")");
        return 0;
    }
}
