package dev.sortie.cli.commands;

import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "stop", mixinStandardHelpOptions = true,
        description = "Stop running experiments: SIGTERM to the process group (\"checkpoint now and exit\"), SIGKILL after the grace period.")
public final class StopCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", arity = "1..*", description = "Experiment names or ids.")
    List<String> experiments;

    @Option(names = "--grace", paramLabel = "DURATION", description = "How long to wait after SIGTERM before SIGKILL (default: 10s).")
    String grace = "10s";

    @Override
    public Integer call() throws Exception {
        Duration g = Units.duration(grace);
        ExperimentService service = context().service();
        for (String ref : experiments) {
            Experiment before = service.find(ref);
            if (before.status() != ExperimentStatus.RUNNING) {
                err().println("sortie: " + before.name() + " is not running (" + before.status().label() + ")");
                continue;
            }
            err().println("sortie: stopping " + before.name() + " (SIGTERM, SIGKILL after " + Units.human(g) + " if still running)");
            Experiment after = service.stop(ref, g);
            err().println("sortie: " + after.name() + " " + after.status().label());
        }
        return 0;
    }
}
