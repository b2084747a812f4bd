package dev.sortie.executor.remote.pool;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.host.SlotBusyException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * Several hosts that look like one executor: each run takes one free slot on one of them (see
 * {@link SlotTable} for how hosts are divided into slots). The hosts are {@link PoolMember}s: ssh hosts today, any
 * remote executor's hosts tomorrow.
 *
 * <p>A launch takes a free slot on a host that answers, the least-loaded host first (fewest runs; ties go to the
 * host listed first), and hands the run to that host's executor with {@code CUDA_VISIBLE_DEVICES} set to the
 * slot's GPUs (left as it is when the slot has none), {@code SORTIE_SLOT} and {@code SORTIE_HOST}. A slot another
 * sortie process holds on the host ({@link SlotBusyException}) is skipped and tried again later; a host that does
 * not answer ({@link ChannelException}) is down and is probed again every few seconds, rejoining when it
 * answers. When no slot is free anywhere the launch waits (interruptibly) until a run it launched ends, a down
 * host comes back or a slot held elsewhere frees up, and says so once through the run's output.
 *
 * <p>Slots are counted in memory by this instance (one process, any number of threads launching at once); the
 * agent's slot lock on each host keeps several processes from filling the same slot. A run, its probe, stop,
 * salvage, catch-up and attach go to the host whose executor {@linkplain PoolMember#owns owns} its handle.
 */
public final class PoolExecutor implements DetachableExecutor {
    private static final System.Logger LOG = System.getLogger(PoolExecutor.class.getName());
    /** How often a down host is probed while it stays down. */
    static final Duration PROBE_EVERY = Duration.ofSeconds(5);
    /** How long a slot another process holds is left alone before a launch tries it again. */
    public static final Duration BUSY_RETRY = Duration.ofSeconds(10);

    private final String name;
    private final String type;
    private final List<PoolMember> members;
    private final SlotTable table;
    private final long probeEveryMs;
    private final long busyRetryMs;
    private final LongSupplier clock = () -> System.nanoTime() / 1_000_000;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ExecutorService probes;
    private boolean closed;

    /**
     * A pool over {@code members} (hosts of any remote executor type); connects nowhere until the first launch.
     *
     * @param type        the executor type it was configured as, e.g. "pool"
     * @param slots       runs per host (null: one per GPU, 1 without)
     * @param gpusPerSlot GPUs per run (null: 1)
     */
    public PoolExecutor(String name, String type, List<? extends PoolMember> members, Integer slots, Integer gpusPerSlot) {
        this(name, type, members, slots, gpusPerSlot, setting(PROBE_EVERY_ENV, PROBE_EVERY), setting(BUSY_RETRY_ENV, BUSY_RETRY));
    }

    /** Overrides {@link #PROBE_EVERY} (whole seconds, 1 or more): the tests, which take hosts down and up, shorten it. */
    static final String PROBE_EVERY_ENV = "SORTIE_POOL_PROBE_EVERY_S";
    /** Overrides {@link #BUSY_RETRY} (whole seconds, 1 or more): the tests, which hold slots from another process, shorten it. */
    static final String BUSY_RETRY_ENV = "SORTIE_POOL_BUSY_RETRY_S";

    /** {@code fallback}, or environment variable {@code name}'s whole seconds. */
    static Duration setting(String name, Duration fallback) {
        return setting(name, System.getenv(name), fallback);
    }

    static Duration setting(String name, String value, Duration fallback) {
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            long s = Long.parseLong(value.trim());
            if (s >= 1) {
                return Duration.ofSeconds(s);
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(name + "='" + value + "': a whole number of seconds, 1 or more (unset: "
                + fallback.toSeconds() + ")");
    }

    public PoolExecutor(String name, List<? extends PoolMember> members, Integer slots, Integer gpusPerSlot, Duration probeEvery, Duration busyRetry) {
        this(name, "pool", members, slots, gpusPerSlot, probeEvery, busyRetry);
    }

    private PoolExecutor(String name, String type, List<? extends PoolMember> members, Integer slots, Integer gpusPerSlot, Duration probeEvery,
                         Duration busyRetry) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("a pool needs hosts");
        }
        this.name = name;
        this.type = type;
        this.members = List.copyOf(members);
        this.table = new SlotTable(this.members.stream().map(PoolMember::name).toList(), slots, gpusPerSlot);
        this.probeEveryMs = Math.max(1, probeEvery.toMillis());
        this.busyRetryMs = Math.max(1, busyRetry.toMillis());
        AtomicInteger n = new AtomicInteger();
        this.probes = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sortie-pool-" + name + "-probe-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return type;
    }

    /** The hosts' executors, in config order (for {@code sortie executor test} and status). */
    public List<DetachableExecutor> members() {
        return members.stream().map(PoolMember::executor).toList();
    }

    @Override
    public List<String> instances() {
        return members.stream().flatMap(m -> m.executor().instances().stream()).toList();
    }

    // ---------------------------------------------------------------- launch

    /** Probes the hosts not heard from yet (login, GPUs) while the caller prepares the run; the launch uses what they found. */
    @Override
    public void warmUp() {
        lock.lock();
        try {
            if (!closed) {
                startProbes(table.claimProbes(clock.getAsLong()));
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public DetachedExecution launch(LaunchRequest request) throws IOException {
        PoolLaunch launch = new PoolLaunch(request.listener());
        String announced = null; // the hosts down when the wait was last announced
        try {
            while (true) {
                SlotTable.Reservation r;
                lock.lock();
                try {
                    while (true) {
                        if (closed) {
                            throw new IOException("executor '" + name + "' is closed");
                        }
                        long now = clock.getAsLong();
                        startProbes(table.claimProbes(now));
                        Optional<SlotTable.Reservation> o = table.reserve(now);
                        if (o.isPresent()) {
                            r = o.get();
                            break;
                        }
                        // Said when the wait begins and when the hosts that are down change (not at every busy count).
                        String down = downHosts();
                        if (!down.equals(announced) && !table.anyUnknown()) {
                            announced = down;
                            sayWaiting(request.listener(), waitingMessage());
                        }
                        long wait = Math.max(1, Math.min(table.nextEvent(now) - now, probeEveryMs));
                        changed.await(wait, TimeUnit.MILLISECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for a free slot on pool " + name);
                } finally {
                    lock.unlock();
                }
                PoolMember member = members.get(r.host());
                PoolLaunch.Attempt attempt = launch.attempt();
                try {
                    DetachedExecution e = member.launch(memberRequest(request, member, r.slot(), attempt), r.slot());
                    if (e == null) {
                        throw new IOException("host " + member.name() + " of pool " + name + " returned no run");
                    }
                    attempt.succeeded();
                    return new PoolExecution(e, r);
                } catch (SlotBusyException busy) {
                    attempt.failed();
                    lock.lock();
                    try {
                        table.busyElsewhere(r, clock.getAsLong() + busyRetryMs);
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                } catch (ChannelException | dev.sortie.core.executor.HostUnavailableException down) {
                    attempt.failed();
                    boolean wasUp;
                    lock.lock();
                    try {
                        wasUp = table.down(r, reason(down), clock.getAsLong(), probeEveryMs);
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                    if (wasUp) {
                        say(request.listener(), "[sortie] pool " + name + ": host " + member.name() + " does not answer (" + reason(down)
                                + "); trying the other hosts, it rejoins the pool when it answers again");
                    }
                } catch (IOException | RuntimeException | Error e) {
                    attempt.failed();
                    release(r, false);
                    throw e;
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            launch.gaveUp();
            throw e;
        }
    }

    /** The member's request: the pool's request with the slot's GPUs, the slot and the host in the environment. */
    static LaunchRequest memberRequest(LaunchRequest request, PoolMember member, Slot slot, RunListener listener) {
        Map<String, String> env = new LinkedHashMap<>(request.environment());
        if (!slot.gpus().isEmpty()) {
            env.put("CUDA_VISIBLE_DEVICES", slot.gpus().stream().map(String::valueOf).collect(Collectors.joining(",")));
            // CUDA numbers GPUs fastest first unless told otherwise; the slot's indices are nvidia-smi's (PCI bus order).
            env.putIfAbsent("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
        }
        env.put("SORTIE_SLOT", Integer.toString(slot.index()));
        env.put("SORTIE_HOST", member.host());
        return new LaunchRequest(request.experiment(), request.task(), request.code(), request.files(), request.command(), env,
                request.logFile(), request.runDir(), request.restore(), listener);
    }

    private void startProbes(List<Integer> hosts) {
        for (int h : hosts) {
            try {
                probes.execute(() -> probe(h));
            } catch (RejectedExecutionException e) {
                table.probeFailed(h, "the pool is closed", clock.getAsLong(), probeEveryMs);
            }
        }
    }

    /** Probes one host (on a probe thread) and records what it found. */
    private void probe(int host) {
        PoolMember member = members.get(host);
        List<Integer> gpus = null;
        String failure = null;
        try {
            gpus = member.probe();
            if (gpus == null) {
                gpus = List.of();
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "pool member {0} did not answer its probe: {1}", member.name(), e);
            failure = reason(e);
        }
        lock.lock();
        try {
            if (failure == null) {
                table.probed(host, gpus);
            } else {
                table.probeFailed(host, failure, clock.getAsLong(), probeEveryMs);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void release(SlotTable.Reservation r, boolean stillRunning) {
        lock.lock();
        try {
            if (stillRunning) {
                table.busyElsewhere(r, clock.getAsLong() + busyRetryMs);
            } else {
                table.release(r);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** "[sortie] waiting for a free slot on pool gpus: 4 of 4 busy, 1 host down (gpu2: connection refused)". Under the lock. */
    private String waitingMessage() {
        SlotTable.Summary s = table.summary();
        StringBuilder sb = new StringBuilder("[sortie] waiting for a free slot on pool ").append(name).append(": ");
        if (s.up() == 0) {
            sb.append("no host answers");
        } else {
            sb.append(s.busy()).append(" of ").append(s.total()).append(" busy");
        }
        if (s.down() > 0) {
            sb.append(", ").append(s.down()).append(s.down() == 1 ? " host down (" : " hosts down (");
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < table.size(); i++) {
                if (table.state(i) == SlotTable.HostState.DOWN) {
                    String why = table.downReason(i);
                    parts.add(members.get(i).name() + (why == null ? "" : ": " + why));
                }
            }
            sb.append(String.join("; ", parts)).append(')');
        }
        return sb.toString();
    }

    /** The names of the hosts that are down, in config order. Under the lock. */
    private String downHosts() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < table.size(); i++) {
            if (table.state(i) == SlotTable.HostState.DOWN) {
                sb.append(members.get(i).name()).append('\n');
            }
        }
        return sb.toString();
    }

    private static void sayWaiting(RunListener listener, String line) {
        try {
            listener.waiting(line);
        } catch (RuntimeException ignored) {
            // a message about waiting must not fail the launch
        }
    }

    private static void say(RunListener listener, String line) {
        try {
            listener.output(line);
        } catch (RuntimeException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "a waiting message was not shown: {0}", ignored);
            // a message about waiting must not fail the launch
        }
    }

    /** The first line of an exception's message, kept short for one line of output. */
    static String reason(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.length() > 200 ? m.substring(0, 197) + "..." : m;
    }

    // ---------------------------------------------------------------- runs already started

    @Override
    public Liveness probe(RunLocator handle) {
        PoolMember m = owner(handle);
        return m == null ? Liveness.UNKNOWN : m.executor().probe(handle);
    }

    @Override
    public boolean stop(RunLocator handle, Duration grace) throws IOException {
        return ownerOrFail(handle, "stop the run").executor().stop(handle, grace);
    }

    @Override
    public boolean stop(Experiment experiment, Duration grace) throws IOException {
        return ownerOrFail(experiment, "stop the run").executor().stop(experiment, grace);
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) throws IOException {
        ownerOrFail(experiment, "salvage").executor().salvage(experiment, request);
    }

    /**
     * Collects from the host the run is on. A run whose record names no host of the pool was being launched by a
     * sortie that died (the engine only asks once that process is gone): it may have reached a host before its
     * record said so, so every host is asked; if none has it, it never started.
     */
    @Override
    public Collection catchUp(Experiment experiment, SalvageRequest request) throws IOException {
        PoolMember m = owner(experiment.handle());
        if (m != null) {
            return m.executor().catchUp(experiment, request);
        }
        Map<String, HostSearch.Ask> hosts = new LinkedHashMap<>();
        for (PoolMember member : members) {
            hosts.put("pool member " + member.name(), () -> member.executor().catchUp(experiment, request));
        }
        HostSearch search = HostSearch.ask(hosts);
        if (search.found() != null) {
            return search.found();
        }
        // a host that does not answer may have it: wait for it rather than run the experiment twice
        return search.unreachable() || search.neverHanded() == null ? Collection.UNREACHABLE : search.neverHanded();
    }

    @Override
    public Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) throws IOException {
        PoolMember m = owner(experiment.handle());
        return m == null ? Optional.empty() : m.executor().attach(experiment, request);
    }

    private PoolMember owner(RunLocator handle) {
        if (handle == null) {
            return null;
        }
        for (PoolMember m : members) {
            if (m.owns(handle)) {
                return m;
            }
        }
        return null;
    }

    private PoolMember ownerOrFail(Experiment experiment, String what) throws IOException {
        if (experiment.handle() == null) {
            throw new IOException("pool " + name + ": cannot " + what + " of experiment " + experiment.name()
                    + ": it has no run handle (its run never started on a host of the pool)");
        }
        PoolMember m = owner(experiment.handle());
        if (m == null) {
            throw new IOException("pool " + name + ": cannot " + what + " of experiment " + experiment.name() + ": " + notOwned(experiment.handle()));
        }
        return m;
    }

    private PoolMember ownerOrFail(RunLocator handle, String what) throws IOException {
        PoolMember m = owner(handle);
        if (m == null) {
            throw new IOException("pool " + name + ": cannot " + what + ": "
                    + (handle == null ? "no run handle" : notOwned(handle)));
        }
        return m;
    }

    private String notOwned(RunLocator handle) {
        return "its run (on host '" + handle.host() + "') is on none of the pool's hosts ("
                + members.stream().map(PoolMember::name).collect(Collectors.joining(", "))
                + "); was the host taken out of the pool?";
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        probes.shutdownNow();
        for (PoolMember m : members) {
            m.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A run launched through the pool: its slot is the pool's until {@link #await()} returns. */
    private final class PoolExecution implements DetachedExecution {
        private final DetachedExecution inner;
        private final SlotTable.Reservation slot;
        private final AtomicBoolean released = new AtomicBoolean();

        PoolExecution(DetachedExecution inner, SlotTable.Reservation slot) {
            this.inner = inner;
            this.slot = slot;
        }

        @Override
        public RunLocator handle() {
            return inner.handle();
        }

        @Override
        public RunOutcome await() throws InterruptedException {
            RunOutcome outcome;
            try {
                outcome = inner.await();
            } catch (RuntimeException | Error e) {
                free(false);
                throw e;
            }
            // Detached: the run goes on in its slot, which the agent's lock on the host still holds.
            free(outcome != null && outcome.status() == ExperimentStatus.RUNNING);
            return outcome;
        }

        private void free(boolean stillRunning) {
            if (released.compareAndSet(false, true)) {
                release(slot, stillRunning);
            }
        }

        @Override
        public java.util.Optional<java.io.IOException> infrastructureFailure() {
            return inner.infrastructureFailure();
        }

        @Override
        public void stop(Duration grace) {
            inner.stop(grace);
        }

        @Override
        public void detach() {
            inner.detach();
        }
    }

    /** For tests: how the pool looks now. */
    SlotTable.Summary summary() {
        lock.lock();
        try {
            return table.summary();
        } finally {
            lock.unlock();
        }
    }

    /** For tests: what one slot of a host is used for, or null before the host answered. */
    SlotTable.Use use(int host, int slot) {
        lock.lock();
        try {
            return table.slots(host) == null ? null : table.use(host, slot);
        } finally {
            lock.unlock();
        }
    }
}
