package dev.sortie.executor.ssh;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.model.RunHandle;
import java.io.IOException;
import java.util.List;

/**
 * One host of a pool, as {@link PoolExecutor} uses it: what an {@link SshExecutor} offers (see {@link SshPoolMember}),
 * narrowed so the pool's allocation, waiting and host-down logic can be tested without ssh.
 */
interface PoolMember extends AutoCloseable {

    /** What the host is called in messages (its executor's name, or its host for an inline one). */
    String name();

    /** The host as configured, which the run sees as {@code SORTIE_HOST}. */
    String host();

    /**
     * Checks that the host answers and returns its GPUs (indices as nvidia-smi numbers them; empty when it has
     * none); the GPUs may be the ones found the first time. Fails (any IOException) when the host does not answer.
     */
    List<Integer> probe() throws IOException;

    /** Launches into a slot: {@link SlotBusyException} when another run holds it, {@link SshConnectionException} when the host cannot be reached. */
    DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException;

    /** Whether a run handle names a run on this host. */
    boolean owns(RunHandle handle);

    /** The executor to delegate a run's probe, stop, salvage, catch-up and attach to. */
    DetachableExecutor executor();

    @Override
    void close();
}
