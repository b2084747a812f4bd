package dev.sortie.cli.commands;

import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.engine.RunRequest;
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
                "  sortie run -- python train.py --lr '${lr}'"})
public final class RunCommand extends ContextCommand {
    @Option(names = {"-e", "--executor"}, paramLabel = "EXECUTOR", description = "Where to run (default: local).")
    String executor;

    @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "The experiment's name (default: <task>-<n>).")
    String name;

    @Option(names = {"-S", "--set-param"}, paramLabel = "KEY=VALUE", description = "Override a param; nested keys with dots (train.lr=0.1).")
    List<String> params = new ArrayList<>();

    @Option(names = "--timeout", paramLabel = "DURATION", description = "Stop the run after this long (e.g. 30m, 2h); overrides sortie.yaml.")
    String timeout;

    @Option(names = {"-q", "--quiet"}, description = "Print only the command's output.")
    boolean quiet;

    @Parameters(paramLabel = "CMD", arity = "0..*", description = "The command to run instead of the task's (after '--').")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        List<ParamOverride> overrides = new ArrayList<>();
        for (String p : params) {
            overrides.add(ParamOverride.parse(p));
        }
        Duration t = timeout == null ? null : Units.duration(timeout);
        context().pathsOrHere();
        context().openSnapshotsInBackground();
        ExperimentService service = context().service();
        PreparedRun prepared = service.prepare(new RunRequest(name, overrides, command, executor, t));
        return Foreground.run(service, prepared, quiet);
    }
}
