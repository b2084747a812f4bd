package dev.sortie.cli.commands;

import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.engine.RunRequest;
import dev.sortie.core.params.ParamGrid;
import dev.sortie.core.params.ParamOverride;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the task of sortie.yaml, or the command after '--', as a tracked experiment.",
                "Output streams live; the exit code is 0 if the experiment succeeded, 1 if it failed."},
        footer = {"", "Examples:",
                "  sortie run                               # the task in sortie.yaml",
                "  sortie run -n baseline -S lr=0.1 -S train.epochs=5",
                "  sortie run -S +new_param=1               # '+' adds a param the task does not define",
                "  sortie run --queue -S lr=0.1,0.01 -S bs=32,64   # queue a grid of 4; then: sortie queue start -j 2",
                // $$ keeps picocli from interpolating the example's ${lr} (it printed 'null')
                "  sortie run -- python train.py --lr '$${lr}'",
                "  sortie run -e gpu1 --detach              # start on host gpu1 and return; sortie logs -f follows it",
                "  sortie run --stage train -e gpu1         # one stage of dvc.yaml (dvc repro train) on gpu1; its outs and dvc.lock come back"})
public final class RunCommand extends ContextCommand {
    @Option(names = {"-e", "--executor"}, paramLabel = "EXECUTOR", description = "Where to run (default: local).")
    String executor;

    @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "The experiment's name (default: <task>-<n>).")
    String name;

    @Option(names = {"-S", "--set-param"}, paramLabel = "KEY=VALUE", description = {"Override a param; nested keys with dots (train.lr=0.1).",
            "A comma list (lr=0.1,0.2) is a grid, for --queue; a comma inside one value is \\,."})
    List<String> params = new ArrayList<>();

    @Option(names = "--stage", paramLabel = "STAGE", description = {"Run one stage of dvc.yaml with the stages it depends on (dvc repro STAGE)",
            "instead of the task's run:, here or on -e; its outs and dvc.lock come back into this workspace and DVC's cache."})
    String stage;

    @Option(names = "--timeout", paramLabel = "DURATION", description = "Stop the run after this long (e.g. 30m, 2h); overrides sortie.yaml.")
    String timeout;

    @Option(names = "--queue", description = {"Add to the queue and return at once ('sortie queue start' runs it).",
            "A comma list makes a grid: -S lr=0.1,0.01 -S bs=32,64 queues 4 experiments (a literal comma is \\,)."})
    boolean queue;

    @Option(names = "--retries", paramLabel = "N", description = "Queued runs: how often an interrupted run is re-queued (default: sortie.yaml's retries, else 1).")
    Integer retries;

    @Option(names = {"-d", "--detach"}, description = {"Return once the run has started on a remote executor (ssh, pool); it goes on there.",
            "Follow it with 'sortie logs -f', see it in 'sortie status'."})
    boolean detach;

    @Option(names = {"-q", "--quiet"}, description = "Print only the command's output.")
    boolean quiet;

    @Parameters(paramLabel = "CMD", arity = "0..*", description = "The command to run instead of the task's (after '--').")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Duration t = timeout == null ? null : Units.duration(timeout);
        if (retries != null && (retries < 0 || retries > 100)) {
            throw new IllegalArgumentException("--retries " + retries + ": expected 0 to 100");
        }
        if (queue) {
            if (stage != null) {
                throw new IllegalArgumentException("--stage runs in the foreground and brings its results back into the workspace; it does not go with --queue");
            }
            return enqueue(t);
        }
        if (retries != null) {
            throw new IllegalArgumentException("--retries applies to queued runs (--queue); a foreground run is retried with 'sortie retry'");
        }
        List<ParamOverride> overrides = singleRun(params);
        if (!(experiments() instanceof dev.sortie.cli.access.LocalExperiments)) {
            if (stage != null) {
                throw new IllegalArgumentException("--stage runs from this workspace, not through the server at " + experiments().where()
                        + ": log out of it, or run the stage with 'sortie run --stage' in a project without a server");
            }
            return runOnServer(overrides, t);
        }
        context().pathsOrHere();
        context().openSnapshotsInBackground();
        context().warmUpInBackground(executor);
        ExperimentService service = context().service();
        if (detach && queue) {
            throw new IllegalArgumentException("--detach and --queue do not go together: a queued run starts from 'sortie queue start'");
        }
        if (detach && stage != null) {
            throw new IllegalArgumentException("--stage brings the stage's outs and dvc.lock back when it ends; it does not go with --detach"
                    + " (without --stage, 'sortie pull EXP' brings a detached run's artifacts back)");
        }
        if (detach && !service.executors().detachable(executor == null ? "local" : executor)) {
            throw new IllegalArgumentException("--detach needs an executor whose runs outlive sortie (type ssh or pool); '"
                    + (executor == null ? "local" : executor) + "' runs inside this process");
        }
        dev.sortie.core.util.Trace.mark("config read, ledger open");
        context().store(); // a configured store that does not answer (S3) fails the run now, not at its end
        PreparedRun prepared = service.prepare(new RunRequest(name, overrides, command, executor, t, null, stage));
        dev.sortie.core.util.Trace.mark("prepared (code snapshot, experiment recorded)");
        int code = Foreground.run(service, prepared, quiet, detach);
        if (code == 0 && stage != null) {
            Experiment done = service.ledger().find(prepared.experiment().id()).orElse(prepared.experiment());
            if (!StageResults.bringBack(experiments(), done, service.paths().projectDir(), prepared.task().env(), err())) {
                return 3;
            }
        }
        // after this run, not before it (its start waits for nothing): runs whose instance went away with no sortie to recover them
        OrphanedRecoveries.launch(service, System.err);
        return code;
    }

    private int enqueue(Duration t) throws Exception {
        List<List<ParamOverride>> grid = ParamGrid.expand(params);
        List<RunRequest> requests = new ArrayList<>(grid.size());
        for (int i = 0; i < grid.size(); i++) {
            String n = name == null ? null : grid.size() == 1 ? name : name + "-" + (i + 1);
            requests.add(new RunRequest(n, grid.get(i), command, executor, t, retries));
        }
        dev.sortie.cli.access.Experiments experiments = experiments();
        List<Experiment> queued = experiments.enqueue(requests);
        if (!quiet) {
            String where = executor == null ? "any executor" : executor;
            err().println("sortie: queued " + queued.size() + " experiment" + (queued.size() == 1 ? "" : "s") + " for " + where + ": "
                    + names(queued) + (experiments instanceof dev.sortie.cli.access.LocalExperiments ? " (run them with 'sortie queue start')"
                    : " on the server at " + experiments.where() + " (its queue workers run them)"));
        }
        return 0;
    }

    /**
     * Logged in to a server: the run is queued there (its workers run it) and its log followed here until it ends,
     * with the run's exit code; --detach returns once it is queued.
     */
    private int runOnServer(List<ParamOverride> overrides, Duration t) throws Exception {
        dev.sortie.cli.access.Experiments experiments = experiments();
        Experiment e = experiments.enqueue(List.of(new RunRequest(name, overrides, command, executor, t, null))).get(0);
        if (!quiet) {
            err().println("sortie: " + e.name() + " (" + e.id() + ") queued on the server at " + experiments.where()
                    + (detach ? "; follow it with 'sortie logs -f " + e.name() + "'" : ""));
        }
        return detach ? 0 : experiments.printLog(e.id(), null, true, out(), err());
    }

    /**
     * The overrides of one run. A comma list is a grid, which only --queue runs: without it, {@code -S lr=0.1,0.2}
     * once ran the string "0.1,0.2" silently. {@code \,} is a comma that belongs to the value, as in a grid.
     */
    static List<ParamOverride> singleRun(List<String> params) {
        List<ParamOverride> overrides = new ArrayList<>();
        for (String p : params) {
            List<List<ParamOverride>> grid = ParamGrid.expand(List.of(p));
            if (grid.size() > 1) {
                throw new IllegalArgumentException("-S " + p + ": a comma list is a grid of " + grid.size()
                        + " values, which only a queued run expands ('sortie run --queue -S " + p
                        + "', then 'sortie queue start'); for one value that contains a comma write \\, (-S '"
                        + p.replace(",", "\\,") + "', quoted for the shell)");
            }
            overrides.add(grid.get(0).get(0));
        }
        return overrides;
    }

    private static String names(List<Experiment> runs) {
        if (runs.size() <= 6) {
            return String.join(", ", runs.stream().map(Experiment::name).toList());
        }
        return runs.get(0).name() + ", " + runs.get(1).name() + " ... " + runs.get(runs.size() - 1).name();
    }
}
