package dev.sortie.cli.commands;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "logs", mixinStandardHelpOptions = true,
        description = {"Print an experiment's output (stdout and stderr, as written); -f follows it until the run ends.",
                "For a run on a remote host, -f picks up where this machine's copy of its log ends, however long ago sortie let go of it."})
public final class LogsCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", description = "Experiment name or id.")
    String experiment;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new lines until the experiment ends.")
    boolean follow;

    @Option(names = "--attempt", paramLabel = "N", description = "Which attempt (default: the latest).")
    Integer attempt;

    @Override
    public Integer call() throws Exception {
        return experiments().printLog(experiment, attempt, follow, out(), err());
    }
}
