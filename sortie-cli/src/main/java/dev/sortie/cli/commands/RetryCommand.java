package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.engine.TaskSource;
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
                refuseStage(access.find(ref), local);
            }
            for (String ref : refs) {
                Experiment e = access.requeue(ref);
                err().println("sortie: re-queued " + e.name() + " (attempt " + e.attempt() + ")");
            }
            err().println(local ? "sortie: run them with 'sortie queue start'" : "sortie: the server at " + access.where() + " runs them");
            return 0;
        }
        ExperimentService service = ((dev.sortie.cli.access.LocalExperiments) access).service();
        PreparedRun prepared = service.prepareRetry(refs.get(0));
        int code = Foreground.run(service, prepared, quiet);
        if (code == 0 && TaskSource.stageOf(prepared.experiment().task()) != null) {
            // as after 'sortie run --stage': the stage's outs and dvc.lock come into the workspace and DVC's cache
            Experiment done = service.ledger().find(prepared.experiment().id()).orElse(prepared.experiment());
            if (!StageResults.bringBack(access, done, service.paths().projectDir(), prepared.task().env(), err())) {
                return 3;
            }
        }
        return code;
    }

    /**
     * A stage run's outs and dvc.lock come into the workspace when it ends in the foreground here; a queue worker or
     * a server does not write into the workspace, so such a retry would leave the results behind: refused, with how.
     */
    private static void refuseStage(Experiment e, boolean local) {
        String stage = TaskSource.stageOf(e.task());
        if (stage != null) {
            throw new IllegalArgumentException("'" + e.name() + "' ran stage " + stage + " of dvc.yaml (--stage), whose outs and dvc.lock"
                    + " come back into the workspace when it ends here; " + (local
                    ? "retry it alone in the foreground: sortie retry " + e.name()
                    : "retry it in the project with a local ledger, or run the stage again: sortie run --stage " + stage));
        }
    }
}
