package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "retry", mixinStandardHelpOptions = true,
        description = {"Run finished experiments again: same code snapshot, params and task.",
                "An interrupted or stopped experiment resumes from its last checkpoints (SORTIE_RESUMED=1);",
                "a failed one starts clean. One experiment runs here in the foreground unless --queue."})
public final class RetryCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", arity = "0..*", description = "Experiment names or ids.")
    List<String> experiments = new ArrayList<>();

    @Option(names = "--queue", description = "Put them back in the queue instead of running here.")
    boolean queue;

    @Option(names = "--failed", description = "Every failed experiment (implies --queue).")
    boolean failed;

    @Option(names = {"-q", "--quiet"}, description = "Print only the command's output.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        dev.sortie.cli.access.Experiments access = experiments();
        List<String> refs = new ArrayList<>(experiments);
        if (failed) {
            for (dev.sortie.core.model.ExperimentView v : access.views()) {
                if (v.experiment().status() == ExperimentStatus.FAILED) {
                    refs.add(v.experiment().id());
                }
            }
            if (refs.isEmpty()) {
                err().println("sortie: no failed experiments");
                return 0;
            }
        }
        if (refs.isEmpty()) {
            throw new IllegalArgumentException("name the experiments to retry, or use --failed");
        }
        boolean local = access instanceof dev.sortie.cli.access.LocalExperiments;
        if (queue || failed || refs.size() > 1 || !local) {
            for (String ref : refs) {
                Experiment e = access.requeue(ref);
                err().println("sortie: re-queued " + e.name() + " (attempt " + e.attempt() + ")");
            }
            err().println(local ? "sortie: run them with 'sortie queue start'" : "sortie: the server at " + access.where() + " runs them");
            return 0;
        }
        ExperimentService service = ((dev.sortie.cli.access.LocalExperiments) access).service();
        return Foreground.run(service, service.prepareRetry(refs.get(0)), quiet);
    }
}
