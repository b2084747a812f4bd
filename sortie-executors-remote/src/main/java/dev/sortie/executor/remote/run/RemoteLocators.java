package dev.sortie.executor.remote.run;

import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;

/**
 * The locators of runs on a remote host, written and read only by the remote executors: the host's key (as
 * {@link RemoteHost#key()} names it) and, as a {@link ProcessLocation}, the agent that runs the attempt and the
 * command's process group on that host (the agent's pid until its journal names the command). The locator's type
 * is the executor's type; a remote executor also reads the locators an earlier release recorded
 * ({@link RunLocator#LEGACY}), which have the same form.
 */
public final class RemoteLocators {
    private RemoteLocators() {
    }

    /** The locator of a run on the host {@code hostKey}, for an executor of type {@code type}. */
    static RunLocator of(String type, String hostKey, ProcessLocation processes) {
        return new RunLocator(type, hostKey, processes.value());
    }

    /**
     * The locator of a run whose agent was just started on the host: the agent's pid stands for the command's
     * process group until the agent's journal names the command.
     */
    static RunLocator launched(String type, String hostKey, long agentPid) {
        return of(type, hostKey, new ProcessLocation(agentPid, null, agentPid, null));
    }

    /** Whether a locator names a run an executor of {@code type} put on the host {@code hostKey}. */
    static boolean names(RunLocator locator, String type, String hostKey) {
        return locator != null && locator.readableBy(type) && locator.host().equals(hostKey);
    }

    /** The command's process group of a run on the host, as recorded; 0 if unknown or the locator is not of that host. */
    static long processGroup(RunLocator locator, String type, String hostKey) {
        if (!names(locator, type, hostKey)) {
            return 0;
        }
        ProcessLocation p = ProcessLocation.of(locator, type);
        return p == null ? 0 : p.pid();
    }

    /** What users see of a remote run's locator: the host and the command's process group on it. */
    public static LocatorDescription describe(RunLocator locator) {
        ProcessLocation p = ProcessLocation.of(locator, locator.executorType());
        return new LocatorDescription(locator.host(), p == null ? 0 : p.pid());
    }
}
