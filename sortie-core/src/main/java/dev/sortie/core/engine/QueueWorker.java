package dev.sortie.core.engine;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.util.Trace;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Drains the queue onto one executor, {@code slots} experiments at a time. Every decision about an experiment
 * goes through {@link ExperimentService} and the ledger's atomic claim, so any number of workers (processes) can
 * drain the same queue: none runs an experiment another has claimed, and a worker that dies has its experiments
 * found by the next reconcile, marked interrupted and re-queued per their retry policy.
 *
 * <p>{@code slots} bounds the commands running at once. Around them the worker keeps up to {@code slots} more
 * experiments in flight: claimed and laid out ahead, or saving outputs after their command exited. A slot goes to
 * the next command the moment the previous one exits, so Sortie's own work overlaps the runs instead of adding to
 * each.
 *
 * <p>On executors whose runs outlive the worker (remote hosts), a worker that is stopped leaves its runs going
 * there, and a worker that starts follows such runs that nobody follows, so they are collected and counted.
 */
public final class QueueWorker {
    private static final System.Logger LOG = System.getLogger(QueueWorker.class.getName());
    /** The ledger control that {@code sortie queue stop} changes; workers stop claiming when it changes. */
    public static final String STOP_CONTROL = "queue.stop";
    static final Duration RECONCILE_EVERY = Duration.ofSeconds(2);
    static final Duration GRACE = Duration.ofSeconds(10);
    static final Duration PROGRESS_EVERY = Duration.ofMillis(500);
    static final Duration STOP_CHECK_EVERY = Duration.ofMillis(250);

    private final ExperimentService service;
    private final Ledger ledger;
    private final String executor;
    private final int slots;
    private final boolean follow;
    private final Listener listener;
    private final Map<String, AttemptControl> running = new ConcurrentHashMap<>();
    private final Semaphore commands;
    private final AtomicInteger runningCommands = new AtomicInteger();
    /** Experiments claimed and launching whose executor said they wait (for a free slot of a pool). */
    private final AtomicInteger waitingForSlot = new AtomicInteger();
    private final BlockingQueue<Experiment> ended = new LinkedBlockingQueue<>();
    /** Runs of other workers this one follows to their end on their hosts (their commands run there). */
    private final AtomicInteger adoptedRuns = new AtomicInteger();
    /** Runs left going on on their hosts when this worker was stopped (detached: the next worker collects them). */
    private final AtomicInteger detachedRuns = new AtomicInteger();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private volatile boolean draining;
    /** Until when no experiment is claimed because the executor's host did not answer (System.nanoTime). */
    private volatile long pausedUntil;
    static final Duration UNAVAILABLE_PAUSE = Duration.ofSeconds(5);
    private static final String NOT_STARTED = ExperimentService.HOST_UNAVAILABLE;
    private volatile boolean shuttingDown;

    public QueueWorker(ExperimentService service, String executor, int slots, boolean follow, Listener listener) {
        if (slots < 1) {
            throw new IllegalArgumentException("-j must be 1 or more, not " + slots);
        }
        this.service = service;
        this.ledger = service.ledger();
        this.executor = executor;
        this.slots = slots;
        this.follow = follow;
        this.listener = listener;
        this.commands = new Semaphore(slots, true);
        service.executors().spec(executor);
    }

    /** Whether it has stopped claiming (a drain, or a {@code sortie queue stop} it saw). */
    public boolean draining() {
        return draining;
    }

    /** Runs until the queue is empty and nothing runs (or, following, until stopped). */
    public Progress run() throws InterruptedException {
        String stopBaseline = ledger.control(STOP_CONTROL).orElse("");
        ExecutorService pool = Executors.newFixedThreadPool(2 * slots, r -> {
            Thread t = new Thread(r, "sortie-queue-slot");
            t.setDaemon(true);
            return t;
        });
        ExecutorService adopted = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sortie-queue-adopted");
            t.setDaemon(true);
            return t;
        });
        long lastReconcile = 0;
        long lastProgress = 0;
        long lastStopCheck = 0;
        try {
            while (true) {
                long now = System.nanoTime();
                if (lastReconcile == 0 || now - lastReconcile >= RECONCILE_EVERY.toNanos()) {
                    lastReconcile = now;
                    for (Experiment e : service.reconcile()) {
                        listener.recovered(e);
                    }
                    if (!draining) {
                        adoptDetached(adopted);
                    }
                }
                if (!draining && now - lastStopCheck >= STOP_CHECK_EVERY.toNanos()) {
                    lastStopCheck = now;
                    if (!stopBaseline.equals(ledger.control(STOP_CONTROL).orElse(""))) {
                        drain();
                    }
                }
                boolean claimed = false;
                while (!draining && running.size() < 2 * slots && System.nanoTime() - pausedUntil >= 0) {
                    Optional<Experiment> next = ledger.claimNext(executor, service.workerHandle(), service.now());
                    if (next.isEmpty()) {
                        break;
                    }
                    claimed = true;
                    Trace.mark("claimed " + next.get().name());
                    start(pool, next.get());
                }
                if (running.isEmpty() && !claimed && ended.isEmpty() && (draining || !follow) && System.nanoTime() - pausedUntil >= 0) {
                    break;
                }
                Experiment done = ended.poll(follow && running.isEmpty() ? 1000 : 250, TimeUnit.MILLISECONDS);
                while (done != null) {
                    record(done);
                    done = ended.poll();
                }
                if (System.nanoTime() - lastProgress >= PROGRESS_EVERY.toNanos()) {
                    lastProgress = System.nanoTime();
                    listener.progress(progress());
                }
            }
        } finally {
            pool.shutdown();
            adopted.shutdown();
        }
        return progress();
    }

    /**
     * Follows this executor's runs that outlive the worker that launched them (on remote hosts) and that nobody
     * follows any more: a worker killed mid-drain leaves them running there, and the next worker sees them to
     * their end (and the queue counts as drained only then). Runs another live process follows are left to it.
     */
    private void adoptDetached(ExecutorService threads) {
        for (Experiment e : ledger.listByStatus(List.of(ExperimentStatus.RUNNING))) {
            if (!e.executor().equals(executor) || running.containsKey(e.id()) || !service.isDetachable(e)) {
                continue;
            }
            AttemptControl control = new AttemptControl(GRACE);
            if (running.putIfAbsent(e.id(), control) != null) {
                continue;
            }
            adoptedRuns.incrementAndGet();
            threads.execute(() -> {
                Experiment end = null;
                try {
                    end = service.adopt(e, RunListener.NONE, control).orElse(null);
                } catch (Exception ex) {
                    // its host does not answer, say: the next reconcile tries again
                    LOG.log(System.Logger.Level.DEBUG, () -> "following " + e.id() + " failed; the next reconcile tries again", ex);
                } finally {
                    running.remove(e.id());
                    adoptedRuns.decrementAndGet();
                }
                if (end != null && end.status() != ExperimentStatus.RUNNING) {
                    listener.recovered(end);
                    ended.add(end);
                }
            });
        }
    }

    private void start(ExecutorService pool, Experiment claimed) {
        AttemptControl control = new AttemptControl(GRACE);
        running.put(claimed.id(), control);
        listener.started(claimed);
        pool.execute(() -> {
            Experiment end;
            Admission admission = new Admission();
            try {
                end = service.runAttempt(service.prepared(claimed), admission, control);
                if (end.status() == ExperimentStatus.INTERRUPTED) {
                    String why = !end.commandStarted() && end.error() != null && end.error().startsWith(NOT_STARTED)
                            ? end.error().substring(NOT_STARTED.length()) : null;
                    end = service.afterInterruption(end);
                    if (why != null && !shuttingDown) {
                        // the host did not answer: the experiment is back in the queue; wait before the next claim
                        // instead of claiming it again at once (and say why)
                        pausedUntil = System.nanoTime() + UNAVAILABLE_PAUSE.toNanos();
                        listener.waiting(executor, why);
                    }
                }
            } catch (Exception e) {
                end = service.failClaimed(claimed, e);
            } finally {
                admission.commandExited();
                running.remove(claimed.id());
            }
            ended.add(end);
        });
    }

    /** Holds one of the {@code slots} from just before an experiment's command starts until it exits. */
    private final class Admission implements RunListener {
        private final AtomicBoolean held = new AtomicBoolean();
        private final AtomicBoolean started = new AtomicBoolean();
        private final AtomicBoolean waiting = new AtomicBoolean();

        /** The executor says the run waits (a pool with no free slot): counted, and told to the worker's listener. */
        @Override
        public void waiting(String message) {
            if (!started.get() && waiting.compareAndSet(false, true)) {
                waitingForSlot.incrementAndGet();
            }
            listener.waitingForSlot(message);
        }

        private void doneWaiting() {
            if (waiting.compareAndSet(true, false)) {
                waitingForSlot.decrementAndGet();
            }
        }

        @Override
        public void launching() throws InterruptedException {
            doneWaiting();
            commands.acquire();
            held.set(true);
            if (shuttingDown || draining) {
                // Claimed ahead but not started: it goes back to the queue as it was.
                throw new InterruptedException("the worker is draining");
            }
            runningCommands.incrementAndGet();
            started.set(true);
        }

        @Override
        public void commandExited() {
            doneWaiting();
            if (started.compareAndSet(true, false)) {
                runningCommands.decrementAndGet();
            }
            if (held.compareAndSet(true, false)) {
                commands.release();
            }
        }
    }

    private void record(Experiment e) {
        if (e.status() == ExperimentStatus.RUNNING) {
            detachedRuns.incrementAndGet(); // detached at shutdown: it goes on on its host, the next worker (or status) collects it
            return;
        }
        if (e.status() == ExperimentStatus.SUCCEEDED) {
            succeeded.incrementAndGet();
        } else if (e.status() != ExperimentStatus.QUEUED) {
            failed.incrementAndGet();
        }
        listener.finished(e);
    }

    public Progress progress() {
        int queued = ledger.countByStatus(ExperimentStatus.QUEUED);
        int commandsNow = runningCommands.get() + adoptedRuns.get();
        int waiting = waitingForSlot.get();
        // What the worker holds and is neither running nor waiting for a slot: laid out (ahead), or saving its outputs.
        int preparing = Math.max(0, running.size() - commandsNow - waiting);
        return new Progress(succeeded.get(), failed.get(), commandsNow, preparing, waiting, queued, detachedRuns.get(), draining);
    }

    /** Start no more experiments; the running ones finish (first Ctrl-C, or {@code sortie queue stop}). */
    public void drain() {
        draining = true;
        // Wake experiments claimed ahead that wait for a slot: they see the drain and go back to the queue.
        commands.release(2 * slots);
        listener.draining();
    }

    /**
     * Stops the running experiments (SIGTERM, SIGKILL after the grace) and records them interrupted, so the
     * retry policy re-queues them for the next worker; blocks until recorded. For a second Ctrl-C or a SIGTERM.
     */
    public void shutdown() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        draining = true;
        // Experiments waiting for a slot get one at once, see the shutdown, and go back to the queue unstarted.
        commands.release(running.size() + slots);
        List<AttemptControl> controls = List.copyOf(running.values());
        controls.parallelStream().forEach(AttemptControl::interruptAndWait);
    }

    /**
     * Counts of this worker's drain: experiments it finished, and what is left.
     *
     * @param running   commands running now (on remote hosts too: runs of a gone worker this one follows)
     * @param preparing experiments claimed whose command is not running: being laid out (or laid out ahead, waiting
     *                  for one of the {@code -j} slots), or saving their outputs after it exited
     * @param waiting   experiments claimed and waiting for a free slot of the executor (a pool), not in {@code queued}
     * @param detached  runs left going on on their hosts when the worker was stopped (collected later)
     */
    public record Progress(int succeeded, int failed, int running, int preparing, int waiting, int queued, int detached, boolean draining) {
        public int done() {
            return succeeded + failed;
        }
    }

    /** What a worker tells the person watching it. Called from the worker's threads. */
    public interface Listener {
        default void started(Experiment e) {
        }

        default void finished(Experiment e) {
        }

        default void recovered(Experiment e) {
        }

        default void draining() {
        }

        /**
         * An experiment of the worker waits for a free slot of the executor (a pool): the executor's line saying why
         * (how many slots are busy, which hosts are down), from each waiting launch when its wait begins or changes.
         */
        default void waitingForSlot(String message) {
        }

        /** The executor could not start runs (its host does not answer); the queue tries again shortly. */
        default void waiting(String executor, String why) {
        }

        default void progress(Progress p) {
        }
    }
}
