package dev.sortie.cli.commands;

import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.PendingStop;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
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
        dev.sortie.cli.access.Experiments service = experiments();
        int code = ExitCodes.OK;
        for (String ref : experiments) {
            Experiment before = service.find(ref);
            if (before.status() != ExperimentStatus.RUNNING) {
                err().println("sortie: " + before.name() + " is not running (" + before.status().label() + ")");
                continue;
            }
            err().println("sortie: stopping " + before.name() + " (SIGTERM, SIGKILL after " + Units.human(g) + " if still running)");
            Experiment after = service.stop(ref, g);
            Optional<PendingStop> pending = PendingStop.of(after);
            if (pending.isPresent() && !pending.get().delivered()) {
                // recorded, not done: an infrastructure problem the user may want a script to notice
                err().println("sortie: " + pending.get().host() + " cannot be reached; the stop of " + after.name()
                        + " will be delivered when it answers (the next 'sortie status', 'show', 'logs' or 'queue start' that reaches it)"
                        + " and its end collected then");
                code = ExitCodes.INFRASTRUCTURE;
                continue;
            }
            err().println("sortie: " + after.name() + " " + after.status().label());
        }
        return code;
    }
}
