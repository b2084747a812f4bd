package dev.sortie.executor.remote.pool;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.model.RunLocator;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.host.SlotBusyException;
import java.io.IOException;
import java.util.List;

/**
 * One host of a pool, as {@link PoolExecutor} uses it: what a remote executor's host offers (the ssh executor's
 * SshPoolMember is one), narrowed so the pool's allocation, waiting and host-down logic can be tested without ssh.
 */
public interface PoolMember extends AutoCloseable {

    /** What the host is called in messages (its executor's name, or its host for an inline one). */
    public String name();

    /** The host as configured, which the run sees as {@code SORTIE_HOST}. */
    public String host();

    /**
     * Checks that the host answers and returns its GPUs (indices as nvidia-smi numbers them; empty when it has
     * none); the GPUs may be the ones found the first time. Fails (any IOException) when the host does not answer.
     */
    public List<Integer> probe() throws IOException;

    /** Launches into a slot: {@link SlotBusyException} when another run holds it, {@link ChannelException} when the host cannot be reached. */
    public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException;

    /** Whether a run handle names a run on this host. */
    public boolean owns(RunLocator handle);

    /** The executor to delegate a run's probe, stop, salvage, catch-up and attach to. */
    public DetachableExecutor executor();

    @Override
    public void close();
}
