package dev.sortie.executor.remote.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.Executor.Liveness;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.Params;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.host.SlotBusyException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pool's allocation, waiting and host-down logic, against members that are not ssh hosts. */
@Timeout(30)
class PoolExecutorTest {
    /** The type of the locators the fake hosts report runs with, as an ssh host would. */
    private static final String SSH = "ssh";
    private static final Duration FAST = Duration.ofMillis(40);
    private final List<PoolExecutor> pools = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void closeAll() {
        pools.forEach(PoolExecutor::close);
        threads.shutdownNow();
    }

    private PoolExecutor pool(Integer slots, Integer gpusPerSlot, FakeMember... members) {
        PoolExecutor p = new PoolExecutor("gpus", List.of(members), slots, gpusPerSlot, FAST, FAST);
        pools.add(p);
        return p;
    }

    private static LaunchRequest request(RunListener listener, Map<String, String> env) {
        return new LaunchRequest(null, null, null, Map.of(), List.of("true"), env, null, null, List.of(), listener);
    }

    private static LaunchRequest request(RunListener listener) {
        return request(listener, Map.of("SORTIE_EXPERIMENT_ID", "e1"));
    }

    private static FakeRun run(DetachedExecution e, FakeMember... members) {
        for (FakeMember m : members) {
            for (FakeRun r : m.runs) {
                if (r.handle.equals(e.handle())) {
                    return r;
                }
            }
        }
        throw new AssertionError("no run with handle " + e.handle());
    }

    /** One run launched and ended, so every host has answered its first probe (which one answers first is up to chance). */
    private static void warm(PoolExecutor p, FakeMember... members) throws Exception {
        DetachedExecution e = p.launch(request(new Recorder()));
        run(e, members).finish(ExperimentStatus.SUCCEEDED);
        e.await();
        eventually(() -> p.summary().unknown() == 0, "every host probed");
    }

    private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void theProbeAndBusyRetryIntervalsAreTheProductsUnlessTheirVariableSetsWholeSeconds() {
        assertThat(PoolExecutor.setting(PoolExecutor.BUSY_RETRY_ENV, null, PoolExecutor.BUSY_RETRY)).isEqualTo(Duration.ofSeconds(10));
        assertThat(PoolExecutor.setting(PoolExecutor.PROBE_EVERY_ENV, " ", PoolExecutor.PROBE_EVERY)).isEqualTo(Duration.ofSeconds(5));
        assertThat(PoolExecutor.setting(PoolExecutor.BUSY_RETRY_ENV, " 2 ", PoolExecutor.BUSY_RETRY)).isEqualTo(Duration.ofSeconds(2));
        for (String bad : List.of("0", "-1", "1.5", "2s")) {
            assertThatThrownBy(() -> PoolExecutor.setting(PoolExecutor.BUSY_RETRY_ENV, bad, PoolExecutor.BUSY_RETRY))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("SORTIE_POOL_BUSY_RETRY_S='" + bad + "': a whole number of seconds, 1 or more (unset: 10)");
        }
    }

    @Test
    void warmingUpProbesEveryHostOnceBeforeAnyLaunch() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0));
        FakeMember b = new FakeMember("b", List.of());
        PoolExecutor p = pool(2, null, a, b);
        p.warmUp();
        eventually(() -> a.probes.get() == 1 && b.probes.get() == 1, "both hosts probed");
        eventually(() -> p.summary().unknown() == 0, "both hosts known to the pool");
        p.warmUp(); // known now: not probed again
        DetachedExecution e = p.launch(request(new Recorder()));
        run(e, a, b).finish(ExperimentStatus.SUCCEEDED);
        e.await();
        assertThat(a.probes.get()).isEqualTo(1);
        assertThat(b.probes.get()).isEqualTo(1);
    }

    @Test
    void eachRunSeesItsSlotsGpusItsSlotAndItsHost() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0, 1, 2, 3));
        PoolExecutor p = pool(null, 2, a);
        Recorder l = new Recorder();
        DetachedExecution first = p.launch(request(l, Map.of("SORTIE_EXPERIMENT_ID", "e1", "CUDA_VISIBLE_DEVICES", "7")));
        DetachedExecution second = p.launch(request(l));
        Map<String, String> env1 = run(first, a).request.environment();
        assertThat(env1).containsEntry("CUDA_VISIBLE_DEVICES", "0,1").containsEntry("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
                .containsEntry("SORTIE_SLOT", "0").containsEntry("SORTIE_HOST", "a.example").containsEntry("SORTIE_EXPERIMENT_ID", "e1");
        assertThat(run(first, a).slot).isEqualTo(new Slot(0, List.of(0, 1)));
        assertThat(run(second, a).request.environment()).containsEntry("CUDA_VISIBLE_DEVICES", "2,3").containsEntry("SORTIE_SLOT", "1");
        assertThat(first.handle()).isEqualTo(run(first, a).handle);
        assertThat(l.started).containsExactly(run(first, a).handle, run(second, a).handle);
    }

    @Test
    void aSlotWithoutGpusLeavesCudaAsItIs() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        PoolExecutor p = pool(3, null, a);
        DetachedExecution e = p.launch(request(new Recorder(), Map.of("CUDA_VISIBLE_DEVICES", "7")));
        assertThat(run(e, a).request.environment()).containsEntry("CUDA_VISIBLE_DEVICES", "7").doesNotContainKey("CUDA_DEVICE_ORDER")
                .containsEntry("SORTIE_SLOT", "0").containsEntry("SORTIE_HOST", "a.example");
        assertThat(run(p.launch(request(new Recorder())), a).request.environment()).doesNotContainKey("CUDA_VISIBLE_DEVICES");
        assertThat(run(p.launch(request(new Recorder())), a).slot).isEqualTo(new Slot(2, List.of()));
    }

    @Test
    void runsGoToTheLeastLoadedHostTiesInConfigOrder() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0, 1));
        FakeMember b = new FakeMember("b", List.of(0, 1));
        PoolExecutor p = pool(null, null, a, b);
        warm(p, a, b);
        List<String> placed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            FakeRun r = run(p.launch(request(new Recorder())), a, b);
            placed.add(r.member.name + "/" + r.slot.index());
        }
        assertThat(placed).containsExactly("a/0", "b/0", "a/1", "b/1");
        assertThat(p.summary()).isEqualTo(new SlotTable.Summary(4, 4, 2, 0, 0, List.of()));
    }

    @Test
    void waitsForAFreeSlotSaysSoOnceAndTakesTheSlotWhenTheRunIsAwaited() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        PoolExecutor p = pool(null, null, a);
        DetachedExecution first = p.launch(request(new Recorder()));
        Recorder l2 = new Recorder();
        Future<DetachedExecution> second = threads.submit(() -> p.launch(request(l2)));
        eventually(() -> !l2.lines.isEmpty(), "the waiting message");
        Thread.sleep(5 * FAST.toMillis());
        assertThat(l2.lines).containsExactly("[sortie] waiting for a free slot on pool gpus: 1 of 1 busy");
        assertThat(second).isNotDone();

        run(first, a).finish(ExperimentStatus.SUCCEEDED);
        Thread.sleep(3 * FAST.toMillis());
        assertThat(second).as("the slot is the first run's until its await() returns").isNotDone();
        assertThat(first.await().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        DetachedExecution e2 = second.get(10, TimeUnit.SECONDS);
        assertThat(run(e2, a).slot.index()).isZero();
        assertThat(a.violations).isEmpty();
        assertThat(l2.lines).hasSize(1);
    }

    @Test
    void aHostThatDoesNotAnswerIsDownAndRejoinsWhenItAnswers() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0));
        a.reachable = false;
        FakeMember b = new FakeMember("b", List.of(0));
        PoolExecutor p = pool(null, null, a, b);
        DetachedExecution first = p.launch(request(new Recorder()));
        assertThat(run(first, b).member).isSameAs(b);
        Recorder l2 = new Recorder();
        Future<DetachedExecution> second = threads.submit(() -> p.launch(request(l2)));
        eventually(() -> !l2.lines.isEmpty(), "the waiting message");
        assertThat(l2.lines).containsExactly("[sortie] waiting for a free slot on pool gpus: 1 of 1 busy, 1 host down (a: a: connection refused)");
        int probes = a.probes.get();
        eventually(() -> a.probes.get() >= probes + 2, "down host probed again");
        assertThat(second).isNotDone();

        a.reachable = true;
        DetachedExecution e2 = second.get(10, TimeUnit.SECONDS);
        assertThat(run(e2, a).slot).isEqualTo(new Slot(0, List.of(0)));
        assertThat(p.summary()).isEqualTo(new SlotTable.Summary(2, 2, 2, 0, 0, List.of()));
    }

    @Test
    void aHostFoundUnreachableAtLaunchIsSkippedAndSaidSo() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0));
        FakeMember b = new FakeMember("b", List.of(0));
        PoolExecutor p = pool(null, null, a, b);
        warm(p, a, b);
        int before = a.launches.get();
        a.launchUnreachable = true;
        Recorder l = new Recorder();
        DetachedExecution first = p.launch(request(l));
        assertThat(run(first, a, b).member).isSameAs(b);
        assertThat(a.launches.get()).isEqualTo(before + 1);
        assertThat(l.lines).containsExactly("[sortie] pool gpus: host a does not answer (cannot connect to a: Connection refused);"
                + " trying the other hosts, it rejoins the pool when it answers again");
        assertThat(l.launching.get()).isEqualTo(1);

        a.launchUnreachable = false;
        DetachedExecution second = p.launch(request(new Recorder()));
        assertThat(run(second, a, b).member).as("a answers probes again and rejoins").isSameAs(a);
    }

    @Test
    void whenNoHostAnswersTheLaunchWaitsForOne() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        FakeMember b = new FakeMember("b", List.of());
        a.reachable = false;
        b.reachable = false;
        PoolExecutor p = pool(null, null, a, b);
        Recorder l = new Recorder();
        Future<DetachedExecution> f = threads.submit(() -> p.launch(request(l)));
        eventually(() -> !l.lines.isEmpty(), "the waiting message");
        assertThat(l.lines).containsExactly("[sortie] waiting for a free slot on pool gpus: no host answers, 2 hosts down"
                + " (a: a: connection refused; b: b: connection refused)");
        b.reachable = true;
        assertThat(run(f.get(10, TimeUnit.SECONDS), a, b).member).isSameAs(b);
    }

    @Test
    void aSlotAnotherProcessHoldsIsSkippedAndTriedAgainLater() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        a.heldElsewhere.add(0);
        PoolExecutor p = pool(2, null, a);
        DetachedExecution first = p.launch(request(new Recorder()));
        assertThat(run(first, a).slot.index()).isEqualTo(1);
        assertThat(p.use(0, 0)).isEqualTo(SlotTable.Use.FOREIGN);
        Recorder l2 = new Recorder();
        Future<DetachedExecution> second = threads.submit(() -> p.launch(request(l2)));
        eventually(() -> a.launches.get() >= 4, "slot 0 tried again");
        assertThat(second).isNotDone();
        assertThat(l2.lines).containsExactly("[sortie] waiting for a free slot on pool gpus: 2 of 2 busy");
        a.heldElsewhere.clear();
        assertThat(run(second.get(10, TimeUnit.SECONDS), a).slot.index()).isZero();
    }

    @Test
    void theRunsListenerIsAskedToLaunchOnceWhateverTheAttempts() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        a.heldElsewhere.add(0);
        a.exitOnBusy = true; // the member admits the run, then finds the slot taken and says the command is not running
        PoolExecutor p = pool(2, null, a);
        Recorder l = new Recorder();
        DetachedExecution e = p.launch(request(l));
        assertThat(l.launching.get()).isEqualTo(1);
        assertThat(l.exited.get()).as("the failed attempt's commandExited is kept back").isZero();
        FakeRun r = run(e, a);
        r.request.listener().commandExited();
        r.request.listener().commandExited();
        assertThat(l.exited.get()).isEqualTo(1);
    }

    @Test
    void anyOtherFailureFreesTheSlotAndEndsTheLaunch() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        a.heldElsewhere.add(0);
        a.exitOnBusy = true;
        a.failWith = new IOException("no space left on device");
        PoolExecutor p = pool(2, null, a);
        Recorder l = new Recorder();
        assertThatThrownBy(() -> p.launch(request(l))).isInstanceOf(IOException.class).hasMessage("no space left on device");
        assertThat(p.use(0, 1)).isEqualTo(SlotTable.Use.FREE);
        assertThat(l.launching.get()).isEqualTo(1);
        assertThat(l.exited.get()).as("the run's listener hears once that no command runs").isEqualTo(1);

        a.failWith = null;
        a.heldElsewhere.clear();
        a.exitOnBusy = false;
        a.throwRuntime = new IllegalStateException("agent jar missing");
        assertThatThrownBy(() -> p.launch(request(new Recorder()))).isInstanceOf(IllegalStateException.class);
        assertThat(p.use(0, 1)).isEqualTo(SlotTable.Use.FREE);
    }

    @Test
    void manyThreadsLaunchingAtOnceNeverShareASlot() throws Exception {
        FakeMember a = new FakeMember("a", List.of(0, 1));
        FakeMember b = new FakeMember("b", List.of(0, 1));
        PoolExecutor p = pool(null, null, a, b);
        int n = 24;
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> done = new ArrayList<>();
        ExecutorService many = Executors.newFixedThreadPool(n);
        try {
            for (int i = 0; i < n; i++) {
                done.add(many.submit(() -> {
                    go.await();
                    DetachedExecution e = p.launch(request(new Recorder()));
                    int now = running.incrementAndGet();
                    most.accumulateAndGet(now, Math::max);
                    FakeRun r = run(e, a, b);
                    Thread.sleep(ThreadLocalRandom.current().nextInt(2, 15));
                    running.decrementAndGet();
                    r.finish(ExperimentStatus.SUCCEEDED);
                    e.await();
                    return r.member.name + "/" + r.slot.index();
                }));
            }
            go.countDown();
            Set<String> slots = ConcurrentHashMap.newKeySet();
            for (Future<String> f : done) {
                slots.add(f.get(20, TimeUnit.SECONDS));
            }
            assertThat(slots).containsExactlyInAnyOrder("a/0", "a/1", "b/0", "b/1");
        } finally {
            many.shutdownNow();
        }
        assertThat(a.violations).isEmpty();
        assertThat(b.violations).isEmpty();
        assertThat(most.get()).isBetween(2, 4);
        assertThat(a.launches.get() + b.launches.get()).isEqualTo(n);
        assertThat(p.summary()).isEqualTo(new SlotTable.Summary(0, 4, 2, 0, 0, List.of()));
    }

    @Test
    void waitingCanBeInterrupted() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        PoolExecutor p = pool(null, null, a);
        DetachedExecution first = p.launch(request(new Recorder()));
        Recorder l = new Recorder();
        AtomicReference<Thread> waiter = new AtomicReference<>();
        AtomicReference<Boolean> flag = new AtomicReference<>();
        Future<Object> f = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            try {
                return p.launch(request(l));
            } catch (InterruptedIOException e) {
                flag.set(Thread.currentThread().isInterrupted());
                return e;
            }
        });
        eventually(() -> !l.lines.isEmpty(), "the waiting message");
        waiter.get().interrupt();
        assertThat(f.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedIOException.class)
                .extracting(o -> ((Exception) o).getMessage()).isEqualTo("interrupted while waiting for a free slot on pool gpus");
        assertThat(flag.get()).isTrue();
        run(first, a).finish(ExperimentStatus.FAILED);
        first.await();
        assertThat(run(p.launch(request(new Recorder())), a).slot.index()).isZero();
        assertThat(a.launches.get()).isEqualTo(2);
    }

    @Test
    void closingThePoolEndsWaitingLaunches() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        PoolExecutor p = pool(null, null, a);
        p.launch(request(new Recorder()));
        Recorder l = new Recorder();
        Future<DetachedExecution> f = threads.submit(() -> p.launch(request(l)));
        eventually(() -> !l.lines.isEmpty(), "the waiting message");
        p.close();
        assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IOException.class).hasMessageContaining("executor 'gpus' is closed");
        assertThat(a.closed).isTrue();
    }

    @Test
    void aDetachedRunKeepsItsSlotForTheHostToRelease() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        PoolExecutor p = pool(null, null, a);
        DetachedExecution e = p.launch(request(new Recorder()));
        e.detach();
        assertThat(run(e, a).detached).isTrue();
        assertThat(e.await().status()).isEqualTo(ExperimentStatus.RUNNING);
        assertThat(p.use(0, 0)).isEqualTo(SlotTable.Use.FOREIGN);
        e.stop(Duration.ofSeconds(3));
        assertThat(run(e, a).stoppedWith).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void runsAreProbedStoppedAndCollectedOnTheHostThatOwnsThem() throws Exception {
        FakeMember a = new FakeMember("a", List.of());
        FakeMember b = new FakeMember("b", List.of());
        PoolExecutor p = pool(null, null, a, b);
        RunLocator onB = new RunLocator(SSH, "b", new ProcessLocation(10, Instant.EPOCH, 11, Instant.EPOCH).value());
        RunLocator elsewhere = new RunLocator(SSH, "zz", new ProcessLocation(10, Instant.EPOCH, 11, Instant.EPOCH).value());
        SalvageRequest sr = new SalvageRequest(null, null, null, RunListener.NONE);
        assertThat(p.probe(onB)).isEqualTo(Liveness.ALIVE);
        assertThat(p.stop(onB, Duration.ZERO)).isTrue();
        assertThat(p.stop(experiment(onB), Duration.ZERO)).isTrue();
        p.salvage(experiment(onB), sr);
        assertThat(p.catchUp(experiment(onB), sr)).isEqualTo(DetachableExecutor.Collection.RUNNING);
        assertThat(p.attach(experiment(onB), sr)).isEmpty();
        assertThat(b.executor.calls).containsExactly("probe", "stop", "stop exp-1", "salvage exp-1", "catchUp exp-1", "attach exp-1");
        assertThat(a.executor.calls).isEmpty();

        assertThat(p.probe(elsewhere)).isEqualTo(Liveness.UNKNOWN);
        assertThat(p.probe(null)).isEqualTo(Liveness.UNKNOWN);
        assertThatThrownBy(() -> p.stop(elsewhere, Duration.ZERO)).isInstanceOf(IOException.class)
                .hasMessage("pool gpus: cannot stop the run: its run (on host 'zz') is on none of the pool's hosts (a, b);"
                        + " was the host taken out of the pool?");
        assertThatThrownBy(() -> p.salvage(experiment(elsewhere), sr)).isInstanceOf(IOException.class)
                .hasMessageContaining("pool gpus: cannot salvage of experiment exp-1");
        // a run whose record names no host (its launcher died before the record said where) is looked for on every host
        assertThat(p.catchUp(experiment(null), sr)).isEqualTo(DetachableExecutor.Collection.RUNNING);
        assertThat(a.executor.calls).containsExactly("catchUp exp-1");
        assertThat(p.attach(experiment(null), sr)).isEmpty();
        assertThat(p.members()).containsExactly(a.executor, b.executor);
    }

    private static Experiment experiment(RunLocator handle) {
        return new Experiment("0123456789", "exp-1", ExperimentStatus.RUNNING, "gpus", CommandSpec.shell("true"), Params.empty(), null, null,
                Instant.EPOCH, Instant.EPOCH, null, null, null, 1, handle);
    }

    // ---------------------------------------------------------------- fakes

    static final class Recorder implements RunListener {
        final List<String> lines = new CopyOnWriteArrayList<>();
        final List<RunLocator> started = new CopyOnWriteArrayList<>();
        final AtomicInteger launching = new AtomicInteger();
        final AtomicInteger exited = new AtomicInteger();

        @Override
        public void launching() {
            launching.incrementAndGet();
        }

        @Override
        public void started(RunLocator handle) {
            started.add(handle);
        }

        @Override
        public void commandExited() {
            exited.incrementAndGet();
        }

        @Override
        public void output(String line) {
            lines.add(line);
        }
    }

    static final class FakeRun implements DetachedExecution {
        final FakeMember member;
        final Slot slot;
        final LaunchRequest request;
        final RunLocator handle;
        final CountDownLatch done = new CountDownLatch(1);
        volatile RunOutcome outcome;
        volatile Duration stoppedWith;
        volatile boolean detached;

        FakeRun(FakeMember member, Slot slot, LaunchRequest request, long pid) {
            this.member = member;
            this.slot = slot;
            this.request = request;
            this.handle = new RunLocator(SSH, member.name, new ProcessLocation(100, Instant.EPOCH, pid, Instant.EPOCH).value());
        }

        void finish(ExperimentStatus status) {
            member.occupied.remove(slot.index(), this);
            outcome = new RunOutcome(status, status == ExperimentStatus.SUCCEEDED ? 0 : 1, null);
            done.countDown();
        }

        @Override
        public RunLocator handle() {
            return handle;
        }

        @Override
        public RunOutcome await() throws InterruptedException {
            done.await();
            return outcome;
        }

        @Override
        public void stop(Duration grace) {
            stoppedWith = grace;
        }

        @Override
        public void detach() {
            detached = true;
            outcome = new RunOutcome(ExperimentStatus.RUNNING, null, null);
            done.countDown();
        }
    }

    /** A host: answers probes or not, holds slots for other processes, launches runs it keeps in memory. */
    static final class FakeMember implements PoolMember {
        final String name;
        final List<Integer> gpus;
        final Set<Integer> heldElsewhere = ConcurrentHashMap.newKeySet();
        final Map<Integer, FakeRun> occupied = new ConcurrentHashMap<>();
        final List<FakeRun> runs = new CopyOnWriteArrayList<>();
        final List<String> violations = new CopyOnWriteArrayList<>();
        final AtomicInteger probes = new AtomicInteger();
        final AtomicInteger launches = new AtomicInteger();
        final AtomicInteger pids = new AtomicInteger(1000);
        final FakeExecutor executor;
        volatile boolean reachable = true;
        volatile boolean launchUnreachable;
        volatile boolean exitOnBusy;
        volatile IOException failWith;
        volatile RuntimeException throwRuntime;
        volatile boolean closed;

        FakeMember(String name, List<Integer> gpus) {
            this.name = name;
            this.gpus = gpus;
            this.executor = new FakeExecutor(name);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String host() {
            return name + ".example";
        }

        @Override
        public List<Integer> probe() throws IOException {
            probes.incrementAndGet();
            if (!reachable) {
                throw new ChannelException(ChannelException.Kind.UNREACHABLE, name + ": connection refused\nmore detail", null);
            }
            return gpus;
        }

        @Override
        public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException {
            launches.incrementAndGet();
            if (!reachable || launchUnreachable) {
                throw new ChannelException(ChannelException.Kind.UNREACHABLE, "cannot connect to " + name + ": Connection refused", null);
            }
            if (heldElsewhere.contains(slot.index())) {
                if (exitOnBusy) {
                    admit(request);
                    request.listener().commandExited();
                }
                throw new SlotBusyException("slot " + slot.index() + " of " + name + " is held by another run");
            }
            if (failWith != null) {
                throw failWith;
            }
            if (throwRuntime != null) {
                throw throwRuntime;
            }
            admit(request);
            FakeRun run = new FakeRun(this, slot, request, pids.incrementAndGet());
            if (occupied.putIfAbsent(slot.index(), run) != null) {
                violations.add(name + " slot " + slot.index() + " was given to two runs at once");
            }
            runs.add(run);
            request.listener().started(run.handle);
            return run;
        }

        private static void admit(LaunchRequest request) throws IOException {
            try {
                request.listener().launching();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
        }

        @Override
        public boolean owns(RunLocator handle) {
            return handle != null && name.equals(handle.host());
        }

        @Override
        public DetachableExecutor executor() {
            return executor;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** The host's executor as far as the pool delegates to it: records what it was asked. */
    static final class FakeExecutor implements DetachableExecutor {
        final String name;
        final List<String> calls = new CopyOnWriteArrayList<>();

        FakeExecutor(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String type() {
            return "fake";
        }

        @Override
        public DetachedExecution launch(LaunchRequest request) {
            throw new UnsupportedOperationException("the pool launches through PoolMember");
        }

        @Override
        public Liveness probe(RunLocator handle) {
            calls.add("probe");
            return Liveness.ALIVE;
        }

        @Override
        public boolean stop(RunLocator handle, Duration grace) {
            calls.add("stop");
            return true;
        }

        @Override
        public boolean stop(Experiment experiment, Duration grace) {
            calls.add("stop " + experiment.name());
            return true;
        }

        @Override
        public void salvage(Experiment experiment, SalvageRequest request) {
            calls.add("salvage " + experiment.name());
        }

        @Override
        public Collection catchUp(Experiment experiment, SalvageRequest request) {
            calls.add("catchUp " + experiment.name());
            return Collection.RUNNING;
        }

        @Override
        public Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) {
            calls.add("attach " + experiment.name());
            return Optional.empty();
        }
    }
}
