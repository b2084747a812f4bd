package dev.sortie.executor.aws;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.HostUnavailableException;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.model.RunLocator;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.host.HostReport;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.host.SlotBusyException;
import dev.sortie.executor.remote.pool.PoolMember;
import dev.sortie.executor.ssh.SshExecutor;
import java.io.IOException;
import java.util.List;

/**
 * One of an aws executor's {@code max_instances} places in its pool: bound to an instance (an idle one found at a
 * launch, or one it launched for a run) or free. A run given to a free slot takes an idle instance of the executor
 * first and launches one only when there is none, so idle instances are used before new ones are launched. An
 * instance that is gone (terminated by its watchdog, a spot interruption, {@code sortie down}) frees the slot.
 */
final class InstanceSlot implements PoolMember {
    private static final System.Logger LOG = System.getLogger(InstanceSlot.class.getName());
    private final AwsExecutor owner;
    private final int index;
    private Bound bound;

    /** An instance and the ssh executor that reaches it; gpus once probed. */
    private record Bound(CloudInstance instance, SshExecutor ssh, List<Integer> gpus) {
    }

    InstanceSlot(AwsExecutor owner, int index) {
        this.owner = owner;
        this.index = index;
    }

    private synchronized Bound bound() {
        return bound;
    }

    @Override
    public synchronized String name() {
        return bound == null ? owner.name() + "#" + index : bound.instance().id();
    }

    @Override
    public synchronized String host() {
        return bound == null ? "new instance" : bound.instance().address(owner.config().privateIp());
    }

    /** A bound slot's host answers (its GPUs the first time); a free one is up at once: its launch makes the instance. */
    @Override
    public List<Integer> probe() throws IOException {
        Bound b = bound();
        if (b == null) {
            return List.of();
        }
        try {
            if (b.gpus() != null) {
                b.ssh().connect().close();
                return b.gpus();
            }
            List<Integer> gpus = b.ssh().report().gpus().stream().map(HostReport.Gpu::index).toList();
            synchronized (this) {
                if (bound == b) {
                    bound = new Bound(b.instance(), b.ssh(), gpus);
                }
            }
            return gpus;
        } catch (IOException | RuntimeException e) {
            if (owner.gone(b.instance())) {
                unbind(b);
                return List.of();
            }
            throw e;
        }
    }

    /**
     * Runs on this slot's instance; a free slot first takes an idle instance of the executor that no slot of this
     * process holds, else launches one. An idle instance another sortie is using (its agent holds the slot) is left to
     * it for a while and the pool tries again.
     */
    @Override
    public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException {
        return launch(request, slot, 0);
    }

    /** As {@link #launch(LaunchRequest, Slot)}; {@code gone}: instances that went away under this launch so far. */
    private DetachedExecution launch(LaunchRequest request, Slot slot, int gone) throws IOException {
        java.time.Instant given = java.time.Instant.now();
        Bound b = bound();
        boolean adopted = false;
        if (b == null) {
            int recoveries = recoveriesPastOnDemandAfter(request);
            boolean onDemand = recoveries >= 0;
            AwsExecutor.Warm warm = owner.takeWarm();
            if (warm != null && onDemand && warm.instance().spot()) {
                // past on_demand_after the run goes on-demand: an idle spot instance is no better than the ones it lost
                owner.released(warm.instance().id());
                warm.ssh().close();
                warm = null;
            }
            // a warm-up that looked and found none looked a moment ago: not asked again
            CloudInstance idle = warm != null ? warm.instance() : owner.claimIdle(null, onDemand);
            if (idle != null) {
                b = warm != null ? bind(warm) : bind(idle);
                adopted = true;
                request.listener().output("[sortie] aws " + idle.id() + ": idle, running there (" + idle.type() + ", up since "
                        + idle.launched() + ")");
            } else {
                if (onDemand) {
                    request.listener().output("[sortie] aws: " + request.experiment().name() + " was interrupted or lost its instance "
                            + recoveries + " time(s) (on_demand_after " + owner.config().onDemandAfter() + "): launching on-demand");
                }
                CloudInstance i = owner.provisioner().launch(request.task(), request.experiment().name(), onDemand,
                        request.listener()::output);
                owner.claimed(i.id());
                b = bind(i);
            }
            owner.remember(b.instance(), b.ssh().config().user());
        }
        try {
            return doomedWhenGone(b, request.listener(), b.ssh().launch(CostListener.around(request, b.instance().pricePerHour(), given), slot));
        } catch (SlotBusyException busy) {
            if (adopted) {
                owner.busyElsewhere(b.instance().id());
                unbind(b);
            }
            throw busy;
        } catch (ChannelException | HostUnavailableException e) {
            if (owner.gone(b.instance())) {
                unbind(b);
                // AWS took it back before the run started there (a spot instance reclaimed while the agent was installed,
                // the code synced): nothing ran, so the run is given to another instance, a bounded number of times
                if (gone + 1 <= Provisioner.MAX_GONE_IN_BOOT) {
                    request.listener().output("[sortie] aws " + b.instance().id() + ": gone before the run started on it ("
                            + e.getMessage() + "); taking another instance");
                    return launch(request, slot, gone + 1);
                }
            }
            throw e;
        }
    }

    /**
     * The run, whose end frees this slot of its instance when the instance was interrupted or lost under it: after a
     * spot interruption notice the instance still runs until the time AWS gave, idle, and must not take the
     * replacement run (nor any other: the executor no longer claims it).
     */
    private DetachedExecution doomedWhenGone(Bound b, dev.sortie.core.executor.RunListener listener, DetachedExecution run) {
        return new DetachedExecution() {
            @Override
            public void detach() {
                run.detach();
            }

            @Override
            public RunLocator handle() {
                return run.handle();
            }

            @Override
            public dev.sortie.core.executor.RunOutcome await() throws InterruptedException {
                dev.sortie.core.executor.RunOutcome o = run.await();
                if (dev.sortie.core.executor.Interruptions.machineGone(o.error())) {
                    listener.output("[sortie] aws " + b.instance().id() + ": " + (dev.sortie.core.executor.Interruptions.preempted(o.error())
                            ? "interrupted; terminating it now (its run's end and last checkpoint are collected)"
                            : "lost; terminating it (in case it still runs where this machine cannot reach it)"));
                    owner.doomed(b.instance().id());
                    unbind(b);
                }
                return o;
            }

            @Override
            public void stop(java.time.Duration grace) {
                run.stop(grace);
            }

            @Override
            public java.util.Optional<IOException> infrastructureFailure() {
                return run.infrastructureFailure();
            }
        };
    }

    /**
     * How many attempts of this run's experiment were interrupted or lost already (the engine counts them into the
     * run's environment) when a spot executor's run must go on-demand for it ({@code on_demand_after} reached: it
     * neither launches spot nor takes an idle spot instance), else -1.
     */
    private int recoveriesPastOnDemandAfter(LaunchRequest request) {
        AwsExecutorConfig c = owner.config();
        if (!c.spot()) {
            return -1;
        }
        int recoveries;
        try {
            recoveries = Integer.parseInt(request.environment().getOrDefault(dev.sortie.core.executor.Interruptions.RECOVERIES_ENV, "0"));
        } catch (NumberFormatException e) {
            return -1;
        }
        return recoveries >= c.onDemandAfter() ? recoveries : -1;
    }

    private Bound bind(CloudInstance i) throws IOException {
        SshExecutor ssh = owner.provisioner().takeLogin(i.id()); // the launch's login, which found it ready
        if (ssh == null) {
            ssh = owner.provisioner().executorFor(i, owner.provisioner().sshUser(i));
        }
        synchronized (this) {
            bound = new Bound(i, ssh, null);
            return bound;
        }
    }

    /** Binds the idle instance the executor's warm-up claimed, with the ssh executor that logged into it. */
    private Bound bind(AwsExecutor.Warm w) {
        synchronized (this) {
            bound = new Bound(w.instance(), w.ssh(), null);
            return bound;
        }
    }

    private void unbind(Bound b) {
        synchronized (this) {
            if (bound != b) {
                return;
            }
            bound = null;
        }
        LOG.log(System.Logger.Level.INFO, "instance {0} of {1} is gone; its slot launches a new one when needed", b.instance().id(), owner.name());
        owner.released(b.instance().id());
        b.ssh().close();
    }

    /** The host key of the bound instance as run handles name it, or null when free. */
    String boundHost() {
        Bound b = bound();
        return b == null ? null : b.ssh().instances().get(0);
    }

    @Override
    public boolean owns(RunLocator handle) {
        Bound b = bound();
        return b != null && b.ssh().owns(handle);
    }

    @Override
    public DetachableExecutor executor() {
        Bound b = bound();
        if (b == null) {
            throw new IllegalStateException("slot " + index + " of " + owner.name() + " has no instance");
        }
        return b.ssh();
    }

    @Override
    public void close() {
        Bound b = bound();
        if (b != null) {
            b.ssh().close();
        }
    }
}
