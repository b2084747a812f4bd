package dev.sortie.executor.local;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.executor.CheckOptions;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorCheck;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;

/** The {@code local} executor type: this machine. It takes no options. */
public final class LocalExecutorProvider implements ExecutorProvider {
    public static final String TYPE = "local";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Executor create(ExecutorSpec spec, ExecutorContext context) {
        if (spec.options() != null && spec.options().isObject()) {
            var names = spec.options().fieldNames();
            while (names.hasNext()) {
                String n = names.next();
                if (!n.equals("type")) {
                    throw new ConfigException("executor '" + spec.name() + "': the local type takes no option '" + n + "'");
                }
            }
        }
        return new LocalExecutor(spec.name(), context.store());
    }

    /** Runs on this machine: nothing to connect to, so nothing that can be missing. */
    @Override
    public ExecutorCheck check(Executor executor, CheckOptions options) {
        return ExecutorCheck.ready(executor.name() + ": " + executor.type() + " executor on this machine; nothing to connect to\n");
    }

    @Override
    public dev.sortie.core.executor.LocatorDescription describe(dev.sortie.core.model.RunLocator locator) {
        return LocalExecutor.describe(locator);
    }
}
