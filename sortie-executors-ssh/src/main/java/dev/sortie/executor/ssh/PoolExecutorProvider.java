package dev.sortie.executor.ssh;

import dev.sortie.core.executor.CheckOptions;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorCheck;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorOption;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.core.store.BlobStore;
import dev.sortie.executor.remote.pool.PoolExecutor;
import java.io.IOException;
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

    @Override
    public List<ExecutorOption> addOptions() {
        List<ExecutorOption> options = new ArrayList<>(List.of(
                ExecutorOption.list("--hosts", "NAME,...", "hosts", "The ssh executors it is made of."),
                ExecutorOption.integer("--slots", "N", "slots", "Runs per host (default: one per GPU, 1 without)."),
                ExecutorOption.integer("--gpus-per-slot", "N", "gpus_per_slot", "GPUs per run (default 1).")));
        options.addAll(SshExecutorProvider.HOST_OPTIONS);
        return options;
    }

    @Override
    public List<String> addExamples() {
        return List.of("sortie executor add gpus --type pool --hosts gpu1,gpu2 --gpus-per-slot 1   # one run per GPU of each host");
    }

    @Override
    public List<ExecutorOption> testOptions() {
        return new SshExecutorProvider().testOptions();
    }

    /** Checks each of the pool's hosts as {@code executor test} checks an ssh executor; ready when every host is. */
    @Override
    public ExecutorCheck check(Executor executor, CheckOptions options) throws IOException {
        StringBuilder report = new StringBuilder();
        int exit = 0;
        for (var member : ((PoolExecutor) executor).members()) {
            ExecutorCheck c = SshExecutorProvider.check((SshExecutor) member, options.flag(SshExecutorProvider.ACCEPT_NEW_HOST_KEY));
            report.append("== ").append(member.name()).append('\n').append(c.report());
            if (c.error() != null) {
                report.append("cannot check it: ").append(c.error()).append('\n');
            }
            exit = Math.max(exit, c.exitCode());
        }
        return new ExecutorCheck(report.toString(), null, exit);
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
