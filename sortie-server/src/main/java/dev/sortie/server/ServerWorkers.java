package dev.sortie.server;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.QueueWorker;
import dev.sortie.core.model.Experiment;
import java.util.ArrayList;
import java.util.List;

/**
 * The server's queue workers: core's {@link QueueWorker}, one per configured executor, each following the queue
 * (waiting for new experiments) with {@code slots} runs at a time, so a run queued through the API starts with no
 * laptop around. Experiments queued for no executor in particular go to whichever worker claims them first.
 */
final class ServerWorkers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ServerWorkers.class.getName());
    private final List<QueueWorker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<String> executors = new ArrayList<>();

    /** @param ended told of each run that ended under a worker (its run tokens expire) */
    ServerWorkers(ExperimentService service, int slots, java.util.function.Consumer<Experiment> ended) {
        for (String executor : service.executors().names()) {
            QueueWorker w = new QueueWorker(service, executor, slots, true, new Logged(executor, ended));
            workers.add(w);
            executors.add(executor);
            Thread t = new Thread(() -> {
                try {
                    w.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "the queue worker of executor " + executor + " stopped", e);
                }
            }, "sortie-server-worker-" + executor);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    List<String> executors() {
        return List.copyOf(executors);
    }

    void start() {
        threads.forEach(Thread::start);
    }

    /**
     * Stops claiming, stops the runs the workers hold here (recorded interrupted: re-queued per their retry policy)
     * and leaves runs on remote hosts going (the next server or {@code sortie status} collects them); waits for that.
     */
    @Override
    public void close() {
        workers.forEach(QueueWorker::drain);
        workers.parallelStream().forEach(QueueWorker::shutdown);
        for (Thread t : threads) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** What a worker does goes to the server's log. */
    private record Logged(String executor, java.util.function.Consumer<Experiment> ended) implements QueueWorker.Listener {
        @Override
        public void started(Experiment e) {
            LOG.log(System.Logger.Level.INFO, "{0}: started {1} ({2})", executor, e.name(), e.id());
        }

        @Override
        public void finished(Experiment e) {
            LOG.log(System.Logger.Level.INFO, "{0}: {1} ({2}) {3}{4}", executor, e.name(), e.id(), e.status().label(),
                    e.error() == null ? "" : ": " + e.error());
            ended.accept(e);
        }

        @Override
        public void recovered(Experiment e) {
            LOG.log(System.Logger.Level.INFO, "{0}: {1} was running under a worker that is gone: now {2}", executor, e.name(), e.status().label());
            if (e.status().isTerminal()) {
                ended.accept(e);
            }
        }

        @Override
        public void waiting(String executor, String why) {
            LOG.log(System.Logger.Level.WARNING, "executor {0} cannot start runs now ({1}); its experiments stay queued", executor, why);
        }
    }
}
