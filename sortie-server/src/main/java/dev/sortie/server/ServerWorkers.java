package dev.sortie.server;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.QueueWorker;
import dev.sortie.core.model.Experiment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The server's queue workers: core's {@link QueueWorker}, one per configured executor, each following the queue
 * (waiting for new experiments) with {@code slots} runs at a time, so a run queued through the API starts with no
 * laptop around. Experiments queued for no executor in particular go to whichever worker claims them first.
 */
final class ServerWorkers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ServerWorkers.class.getName());
    private final ExperimentService service;
    private final int slots;
    private final java.util.function.Consumer<Experiment> ended;
    /** The worker of each executor and its thread; replaced when a drained worker is started again (queue start). */
    private final java.util.Map<String, Running> running = new java.util.LinkedHashMap<>();
    private boolean closed;

    /** One executor's worker as it is now. */
    record Running(QueueWorker worker, Thread thread, int slots, String stopBaseline) {
    }

    /** A worker's state as {@code POST /queue/start} answers it. */
    record State(String executor, int slots, boolean draining) {
    }

    /** @param ended told of each run that ended under a worker (its run tokens expire) */
    ServerWorkers(ExperimentService service, int slots, java.util.function.Consumer<Experiment> ended) {
        this.service = service;
        this.slots = slots;
        this.ended = ended;
        for (String executor : service.executors().names()) {
            running.put(executor, worker(executor, slots));
        }
    }

    private Running worker(String executor, int n) {
        QueueWorker w = new QueueWorker(service, executor, n, true, new Logged(executor, ended));
        Thread t = new Thread(() -> {
            try {
                w.run();
                LOG.log(System.Logger.Level.INFO, "the queue worker of executor {0} stopped claiming ('sortie queue start' starts it again)", executor);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "the queue worker of executor " + executor + " stopped", e);
            }
        }, "sortie-server-worker-" + executor);
        t.setDaemon(true);
        // the queue-stop control as the worker starts: one set since (a 'queue stop' it may not have seen yet) is its end
        return new Running(w, t, n, service.ledger().control(QueueWorker.STOP_CONTROL).orElse(""));
    }

    synchronized List<String> executors() {
        return List.copyOf(running.keySet());
    }

    synchronized void start() {
        running.values().forEach(r -> r.thread().start());
    }

    /**
     * {@code sortie queue start} through the server: each worker of {@code executor} (null: every executor) that a
     * {@code queue stop} drained, or that stopped, is started again with {@code jobs} runs at a time (null: the
     * server's {@code --workers}); one still claiming is left as it is. The workers after that, one per executor.
     */
    synchronized List<State> restart(String executor, Integer jobs) {
        if (executor != null && !running.containsKey(executor)) {
            throw new IllegalArgumentException("no executor '" + executor + "' on this server; its executors: " + String.join(", ", running.keySet()));
        }
        List<State> out = new ArrayList<>();
        for (Map.Entry<String, Running> e : running.entrySet()) {
            Running r = e.getValue();
            boolean stopped = !r.thread().isAlive() || r.worker().draining()
                    || !r.stopBaseline().equals(service.ledger().control(QueueWorker.STOP_CONTROL).orElse(""));
            boolean resized = jobs != null && jobs != r.slots();
            if (!closed && (executor == null || executor.equals(e.getKey())) && (stopped || resized)) {
                // the old worker claims no more and finishes its running experiments; the new one claims from now on
                r.worker().drain();
                r = worker(e.getKey(), jobs == null ? slots : jobs);
                r.thread().start();
                e.setValue(r);
            }
            out.add(new State(e.getKey(), r.slots(), !r.thread().isAlive() || r.worker().draining()));
        }
        return out;
    }

    synchronized List<State> states() {
        List<State> out = new ArrayList<>();
        running.forEach((name, r) -> out.add(new State(name, r.slots(), !r.thread().isAlive() || r.worker().draining())));
        return out;
    }

    /**
     * Stops claiming, stops the runs the workers hold here (recorded interrupted: re-queued per their retry policy)
     * and leaves runs on remote hosts going (the next server or {@code sortie status} collects them); waits for that.
     */
    @Override
    public void close() {
        List<Running> all;
        synchronized (this) {
            closed = true;
            all = List.copyOf(running.values());
        }
        all.forEach(r -> r.worker().drain());
        all.parallelStream().forEach(r -> r.worker().shutdown());
        for (Thread t : all.stream().map(Running::thread).toList()) {
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
