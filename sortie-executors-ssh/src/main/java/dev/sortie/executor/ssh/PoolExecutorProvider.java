package dev.sortie.executor.ssh;

import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.core.store.BlobStore;
import dev.sortie.executor.remote.pool.PoolExecutor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        return context == null ? pool(config, SshPaths.defaults(), null, null)
                : pool(config, SshPaths.defaults(), context.stateDir(), context.store());
    }

    /**
     * A pool over the config's ssh hosts; connects nowhere until the first launch.
     *
     * @param stateDir the project's .sortie folder, as {@link SshExecutor} takes it (null: remember nothing between processes)
     * @param store    where the runs' outputs are collected (null: the pool can be checked and probed, not run on)
     */
    static PoolExecutor pool(PoolExecutorConfig config, SshPaths paths, Path stateDir, BlobStore store) {
        List<SshPoolMember> members = new ArrayList<>();
        for (PoolExecutorConfig.Host h : config.hosts()) {
            members.add(new SshPoolMember(new SshExecutor(h.ssh(), paths, stateDir, store), h.displayName()));
        }
        return new PoolExecutor(config.name(), TYPE, members, config.slots(), config.gpusPerSlot());
    }
}
