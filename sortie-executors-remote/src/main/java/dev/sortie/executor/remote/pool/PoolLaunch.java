package dev.sortie.executor.remote.pool;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunLocator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The listener side of one pool launch, which may try several slots: the run's {@link RunListener#launching()}
 * (a queue's admission) is called once whatever the attempts, and {@link RunListener#commandExited()} of an
 * attempt that found its slot busy or its host down is kept back, since the run goes on elsewhere.
 */
final class PoolLaunch {
    private final RunListener target;
    private final AtomicBoolean launching = new AtomicBoolean();
    private final AtomicBoolean exitedSent = new AtomicBoolean();
    private volatile boolean exitedKeptBack;

    PoolLaunch(RunListener target) {
        this.target = target;
    }

    Attempt attempt() {
        return new Attempt();
    }

    /** The pool launch failed for good: the run's listener hears once that its command is not running. */
    void gaveUp() {
        if (launching.get() || exitedKeptBack) {
            sendExited();
        }
    }

    private void sendExited() {
        if (exitedSent.compareAndSet(false, true)) {
            target.commandExited();
        }
    }

    public final class Attempt implements RunListener {
        private boolean live;
        private boolean failed;
        private boolean exited;

        @Override
        public void launching() throws InterruptedException {
            if (launching.compareAndSet(false, true)) {
                target.launching();
            }
        }

        @Override
        public void started(RunLocator handle) {
            target.started(handle);
        }

        @Override
        public void commandExited() {
            synchronized (this) {
                if (!live) {
                    if (failed) {
                        exitedKeptBack = true;
                    } else {
                        exited = true;
                    }
                    return;
                }
            }
            sendExited();
        }

        @Override
        public void progress(String message) {
            target.progress(message);
        }

        @Override
        public void output(String line) {
            target.output(line);
        }

        @Override
        public void outputBytes(byte[] bytes, int offset, int length) {
            target.outputBytes(bytes, offset, length);
        }

        @Override
        public void metrics(List<MetricPoint> points) {
            target.metrics(points);
        }

        @Override
        public void saved(List<ArtifactRecord> files) {
            target.saved(files);
        }

        void succeeded() {
            boolean send;
            synchronized (this) {
                live = true;
                send = exited;
            }
            if (send) {
                sendExited();
            }
        }

        void failed() {
            synchronized (this) {
                failed = true;
                if (exited) {
                    exitedKeptBack = true;
                }
            }
        }
    }
}
