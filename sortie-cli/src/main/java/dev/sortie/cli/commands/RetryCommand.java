package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "retry", mixinStandardHelpOptions = true,
        description = {"Run a finished experiment again: same code snapshot, params and task.",
                "An interrupted or stopped experiment resumes from its last checkpoints (SORTIE_RESUMED=1)."})
public final class RetryCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", description = "Experiment name or id.")
    String experiment;

    @Option(names = {"-q", "--quiet"}, description = "Print only the command's output.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        ExperimentService service = context().service();
        return Foreground.run(service, service.prepareRetry(experiment), quiet);
    }
}
