package dev.sortie.server;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.OrphanedRecoveries;
import dev.sortie.core.model.Experiment;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The server's recovery loop: every few seconds, core's {@link OrphanedRecoveries} claims the runs whose machine
 * went away while nobody followed them (a foreground run whose laptop closed, a detached run, a recovery a killed
 * sortie or an earlier server left half-done) and launches each replacement on a thread of its own, so a
 * replacement that takes minutes to provision holds back no other recovery. The queue workers then follow the
 * replacement to its end, as any detached run. Runs the workers drain themselves are requeued by their retry
 * policy instead (see {@link dev.sortie.core.engine.QueueWorker}); this is the rest.
 */
final class ServerRecoveries implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ServerRecoveries.class.getName());
    static final Duration EVERY = Duration.ofSeconds(2);
    /** As the CLI's foreground runs: a replacement's stop waits this long between SIGTERM and SIGKILL. */
    private static final Duration GRACE = Duration.ofSeconds(10);

    private final OrphanedRecoveries recoveries;
    private final ExperimentService service;
    private final boolean reconcile;
    private final Consumer<Experiment> ended;
    private final java.util.concurrent.ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sortie-server-recoveries"));
    private final ExecutorService launches = Executors.newCachedThreadPool(r -> daemon(r, "sortie-server-recovery-launch"));

    /**
     * @param reconcile whether each round first marks interrupted the runs whose sortie is gone (a foreground run's
     *                  sortie killed mid-recovery): the queue workers do it when there are any; without them, this does
     * @param ended     told of a replacement that ended while it was launched (its run tokens expire)
     */
    ServerRecoveries(ExperimentService service, boolean reconcile, Consumer<Experiment> ended) {
        this.recoveries = new OrphanedRecoveries(service, GRACE);
        this.service = service;
        this.reconcile = reconcile;
        this.ended = ended;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    void start() {
        loop.scheduleWithFixedDelay(this::once, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void once() {
        try {
            if (reconcile) {
                service.reconcile();
            }
            for (OrphanedRecoveries.Claimed c : recoveries.claim()) {
                LOG.log(System.Logger.Level.INFO, "{0}", c.line().replaceFirst("^sortie: ", ""));
                launches.execute(() -> launch(c));
            }
        } catch (RuntimeException e) {
            // a ledger that does not answer this moment, say: the next round tries again
            LOG.log(System.Logger.Level.WARNING, "looking for runs to recover failed; trying again in " + EVERY.toSeconds() + " s", e);
        }
    }

    private void launch(OrphanedRecoveries.Claimed c) {
        try {
            Experiment done = recoveries.launch(c, line -> LOG.log(System.Logger.Level.WARNING, "{0}", line));
            if (done != null) {
                LOG.log(System.Logger.Level.INFO, "{0}: attempt {1} launched on a replacement: now {2}", done.name(), done.attempt(),
                        done.status().label());
                if (done.status().isTerminal()) {
                    ended.accept(done);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops looking; launches under way are let go (the replacement's record carries this process as its launcher,
     * so the next server or {@code sortie status} launches it again, as the same attempt).
     */
    @Override
    public void close() {
        loop.shutdownNow();
        launches.shutdownNow();
        try {
            loop.awaitTermination(10, TimeUnit.SECONDS);
            launches.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
