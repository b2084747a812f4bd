package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.Provisioning;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sortie down EXECUTOR | --all | --orphans}: instances terminated; with {@code --volumes}, an executor's named volumes deleted too. */
@Command(name = "down", mixinStandardHelpOptions = true,
        description = {"Terminate the instances of a cloud executor (busy or idle), of every cloud executor (--all),",
                "or the orphans: launches whose sortie died before the instance was ready, instances of executors no longer configured.",
                "Named volumes (their data) are kept unless --volumes is given with an executor."})
public final class DownCommand extends ContextCommand {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
        @Parameters(paramLabel = "EXECUTOR", description = "A cloud executor.")
        String executor;

        @Option(names = "--all", description = "Every cloud executor's instances.")
        boolean all;

        @Option(names = "--orphans", description = "Instances that nothing will use (see above).")
        boolean orphans;
    }

    @Option(names = "--volumes", description = "Also delete the executor's named volumes and the data on them (once detached).")
    boolean volumes;

    @Override
    public Integer call() throws Exception {
        if (volumes && which.executor == null) {
            err().println("sortie: --volumes deletes one executor's volumes and their data: name it (sortie down EXECUTOR --volumes);"
                    + " --all and --orphans never delete volumes");
            return ExitCodes.USAGE;
        }
        ExecutorRegistry registry = context().executors();
        List<Provisioning> targets;
        if (which.executor != null) {
            targets = List.of(UpCommand.provisioning(registry, which.executor));
        } else {
            targets = new java.util.ArrayList<>();
            for (String n : registry.names()) {
                Executor e = registry.get(n);
                if (e instanceof Provisioning p) {
                    targets.add(p);
                }
            }
        }
        Set<String> seen = new HashSet<>();
        int n = 0;
        for (Provisioning p : targets) {
            List<Provisioning.Instance> gone = which.orphans ? p.downOrphans(new LinkedHashSet<>(registry.names()), err()::println)
                    : p.down(err()::println);
            for (Provisioning.Instance i : gone) {
                if (seen.add(i.id())) {
                    out().println(i.id());
                    n++;
                }
            }
        }
        err().println("sortie: " + n + (n == 1 ? " instance" : " instances") + " terminating");
        if (volumes) {
            int d = 0;
            for (Provisioning p : targets) {
                for (Provisioning.Volume v : p.deleteVolumes(err()::println)) {
                    out().println(v.id());
                    d++;
                }
            }
            err().println("sortie: " + d + (d == 1 ? " volume" : " volumes") + " deleted");
        }
        return ExitCodes.OK;
    }
}
