package dev.sortie.executor.ssh;

import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;

/** The {@code ssh} executor type: a remote machine reached with SSH, configured like {@code ssh} itself is. */
public final class SshExecutorProvider implements ExecutorProvider {
    public static final String TYPE = "ssh";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Executor create(ExecutorSpec spec, ExecutorContext context) {
        SshExecutorConfig config = SshExecutorConfig.fromOptions(spec.name(), spec.options());
        return context == null ? new SshExecutor(config, SshPaths.defaults())
                : new SshExecutor(config, SshPaths.defaults(), context.stateDir(), context.store());
    }
}
