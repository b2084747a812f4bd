package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.Provisioning;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sortie up EXECUTOR [-n N]}: instances started ahead of runs and kept (until their idle stop). */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start instances of a cloud executor and keep them: runs on it then start with no allocation.",
                "Idle instances still stop themselves after the executor's idle stop."})
public final class UpCommand extends ContextCommand {
    @Parameters(paramLabel = "EXECUTOR", description = "A cloud executor (e.g. type aws).")
    String executor;

    @Option(names = {"-n", "--count"}, paramLabel = "N", description = "Until N of its instances are running (default 1).")
    int count = 1;

    @Override
    public Integer call() throws Exception {
        if (count < 1 || count > 1000) {
            throw new IllegalArgumentException("-n: expected a number of instances from 1 to 1000, got " + count);
        }
        Provisioning p = provisioning(context().executors(), executor);
        List<Provisioning.Instance> up = p.up(count, err()::println);
        for (Provisioning.Instance i : up) {
            out().println(i.id() + "\t" + i.state() + "\t" + i.type() + (i.spot() ? " spot" : "") + "\t" + (i.address() == null ? "" : i.address()));
        }
        return ExitCodes.OK;
    }

    /** The named executor as a cloud one, or a usage error saying which executors are. */
    static Provisioning provisioning(ExecutorRegistry registry, String name) {
        if (!registry.has(name)) {
            throw new IllegalArgumentException("no executor '" + name + "'; configured: " + String.join(", ", registry.names()));
        }
        Executor e = registry.get(name);
        if (e instanceof Provisioning p) {
            return p;
        }
        throw new IllegalArgumentException("executor '" + name + "' is of type " + e.type() + ", which starts no instances;"
                + " up and down take a cloud executor (type aws)");
    }
}
