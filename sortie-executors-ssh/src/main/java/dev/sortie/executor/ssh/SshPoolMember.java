package dev.sortie.executor.ssh;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.model.RunLocator;
import dev.sortie.executor.remote.host.HostReport;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.pool.PoolMember;
import java.io.IOException;
import java.util.List;

/** A pool's host backed by an {@link SshExecutor}. */
final class SshPoolMember implements PoolMember {
    private final SshExecutor executor;
    private final String name;
    private volatile List<Integer> gpus;

    SshPoolMember(SshExecutor executor, String name) {
        this.executor = executor;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String host() {
        return executor.config().host();
    }

    /** The first time, the host's report (cached by the executor) gives its GPUs; after that a connection proves it answers. */
    @Override
    public List<Integer> probe() throws IOException {
        List<Integer> known = gpus;
        if (known == null) {
            known = executor.report().gpus().stream().map(HostReport.Gpu::index).toList();
            gpus = known;
            return known;
        }
        executor.connect().close();
        return known;
    }

    @Override
    public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException {
        return executor.launch(request, slot);
    }

    @Override
    public boolean owns(RunLocator handle) {
        return executor.owns(handle);
    }

    @Override
    public DetachableExecutor executor() {
        return executor;
    }

    @Override
    public void close() {
        executor.close();
    }
}
