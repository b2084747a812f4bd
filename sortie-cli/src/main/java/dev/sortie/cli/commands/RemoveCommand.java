package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true,
        description = "Remove experiments from the ledger with their logs and code snapshot refs.")
public final class RemoveCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", arity = "1..*", description = "Experiment names or ids.")
    List<String> experiments;

    @Option(names = {"-f", "--force"}, description = "Stop running experiments first.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        noteLocalOnly("sortie remove");
        ExperimentService service = context().service();
        service.reconcile();
        List<Experiment> found = new ArrayList<>();
        for (String ref : experiments) {
            found.add(service.find(ref));
        }
        for (Experiment e : found) {
            if (e.status() == ExperimentStatus.RUNNING && force) {
                service.stop(e.id(), Duration.ofSeconds(10));
                e = service.find(e.id());
                for (int i = 0; i < 100 && e.status() == ExperimentStatus.RUNNING; i++) {
                    Thread.sleep(100);
                    e = service.find(e.id());
                }
            }
            service.remove(e);
            err().println("sortie: removed " + e.name() + " (" + e.id() + ")");
        }
        return 0;
    }
}
