package dev.sortie.executor.remote.pool;

import dev.sortie.core.executor.ForwardingRunListener;
import dev.sortie.core.executor.RunListener;
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

    public final class Attempt extends ForwardingRunListener {
        private boolean live;
        private boolean failed;
        private boolean exited;

        Attempt() {
            super(target);
        }

        @Override
        public void launching() throws InterruptedException {
            if (launching.compareAndSet(false, true)) {
                target.launching();
            }
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
