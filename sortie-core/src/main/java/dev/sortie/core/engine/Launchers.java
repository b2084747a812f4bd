package dev.sortie.core.engine;

import dev.sortie.core.executor.Executor;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.util.Hosts;

/**
 * The locators the engine writes itself ({@link RunLocator#LAUNCHER}): the sortie process that claimed or started an
 * attempt and launches it until its executor reports where the run is. Only these are read here; every other
 * locator belongs to its executor.
 */
final class Launchers {
    private Launchers() {
    }

    /** This process, launching an attempt on this host. */
    static RunLocator current() {
        ProcessHandle me = ProcessHandle.current();
        return RunLocator.launcher(Hosts.name(), me.pid(), me.info().startInstant().orElse(null));
    }

    /**
     * Whether the launcher a locator names is still alive: UNKNOWN on another host (its processes cannot be seen
     * from here), GONE when its pid is gone or now belongs to a process started at another time (the
     * ledger keeps start times to the millisecond; a second's slack, as the local executor allows).
     */
    static Executor.Liveness liveness(RunLocator launcher) {
        if (!launcher.host().equals(Hosts.name())) {
            return Executor.Liveness.UNKNOWN;
        }
        ProcessLocation p;
        try {
            p = ProcessLocation.parse(launcher.value());
        } catch (IllegalArgumentException e) {
            return Executor.Liveness.GONE;
        }
        boolean alive = ProcessHandle.of(p.supervisorPid()).filter(ProcessHandle::isAlive)
                .map(h -> p.supervisorStart() == null || h.info().startInstant()
                        .map(s -> Math.abs(s.toEpochMilli() - p.supervisorStart().toEpochMilli()) < 1000).orElse(true))
                .orElse(false);
        return alive ? Executor.Liveness.ALIVE : Executor.Liveness.GONE;
    }
}
