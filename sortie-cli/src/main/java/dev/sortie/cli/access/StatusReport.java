package dev.sortie.cli.access;

import dev.sortie.core.engine.ExecutorInstances;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.executor.Provisioning;
import dev.sortie.core.model.Experiment;
import java.util.List;
import java.util.Map;

/**
 * What {@code sortie status} prints, from the project's ledger or a server's {@code GET /status}: the experiments in
 * flight with where each runs, the executors' machines, cloud instances and volumes, hosts that do not answer.
 *
 * @param executors every configured executor's name
 * @param changed   experiments whose end (or loss) this status found out about (local only: a server collects its own)
 * @param errors    what could not be listed, said on stderr ("cannot list the instances of aws: ...")
 * @param workers   the server's queue workers (empty locally: 'sortie queue start' is the local worker)
 * @param failedRecoveries recoveries whose replacement could not be launched (see core's FailedRecoveries)
 */
public record StatusReport(List<InFlight> inFlight, List<String> executors, List<ExecutorInstances.Instance> instances,
                           List<Provisioning.Instance> cloud, List<Provisioning.Volume> volumes, List<DetachableExecutor.HostSilence> silent,
                           List<Experiment> changed, List<String> errors, List<Worker> workers,
                           List<FailedRecovery> failedRecoveries) {

    /** An experiment queued or running, where it runs (null when its executor cannot say) and its latest metrics. */
    public record InFlight(Experiment experiment, LocatorDescription where, Map<String, Double> metrics) {
    }

    /**
     * A recovery whose replacement could not be launched: the experiment, its failed attempt, the attempt whose
     * machine went away, why (one line) and where the launch's log is.
     */
    public record FailedRecovery(String id, String name, int attempt, int lostAttempt, String why, String log) {
    }

    /** One of a server's queue workers: its executor, how many runs at a time, and whether it stopped claiming. */
    public record Worker(String executor, int jobs, boolean draining) {
    }
}
