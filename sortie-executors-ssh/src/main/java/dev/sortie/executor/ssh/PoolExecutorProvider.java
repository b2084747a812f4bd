package dev.sortie.executor.ssh;

import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.Map;

/** The {@code pool} executor type: several ssh hosts that look like one executor, one run per free slot. */
public final class PoolExecutorProvider implements ExecutorProvider {
    public static final String TYPE = "pool";

    @Override
    public String type() {
        return TYPE;
    }

    /** Validates the pool's options, resolving the names in {@code hosts:} against the context's executors; connects nowhere. */
    @Override
    public Executor create(ExecutorSpec spec, ExecutorContext context) {
        Map<String, ExecutorSpec> executors = context == null ? Map.of() : context.executors();
        PoolExecutorConfig config = PoolExecutorConfig.fromOptions(spec.name(), spec.options(), executors);
        return context == null ? new PoolExecutor(config, SshPaths.defaults())
                : new PoolExecutor(config, SshPaths.defaults(), context.stateDir(), context.store());
    }
}
