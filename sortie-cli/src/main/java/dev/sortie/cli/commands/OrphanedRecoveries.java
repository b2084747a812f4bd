package dev.sortie.cli.commands;

import dev.sortie.core.engine.AttemptControl;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.executor.Interruptions;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.io.PrintStream;

/**
 * Launches the recoveries no sortie is doing (see {@link ExperimentService#claimOrphanedRecoveries()}): a run whose
 * instance went away while no sortie followed it (detached, or its sortie killed during the recovery) goes on as
 * its next attempt on a replacement, detached, as {@code sortie run --detach} would start it; later commands collect
 * it. What {@code status}, {@code queue start} and {@code run} do first.
 */
public final class OrphanedRecoveries {
    private static final System.Logger LOG = System.getLogger(OrphanedRecoveries.class.getName());

    private OrphanedRecoveries() {
    }

    public static void launch(ExperimentService service, PrintStream err) {
        for (ExperimentService.OrphanedRecovery r : service.claimOrphanedRecoveries()) {
            Experiment ended = r.ended();
            Experiment next = r.next().experiment();
            err.println("sortie: " + ended.name() + ": attempt " + ended.attempt() + " "
                    + (Interruptions.preempted(ended.error()) ? "preempted" : "lost its instance")
                    + (r.lastStep() >= 0 ? " at step " + r.lastStep() : "") + " while no sortie followed it; continuing as attempt "
                    + next.attempt() + " on a replacement, " + (r.next().resumed() ? "resumed from its last checkpoint" : "from the start")
                    + " (detached: 'sortie logs -f " + ended.name() + "' follows it)");
            AttemptControl control = new AttemptControl(Foreground.GRACE);
            control.detach();
            try {
                Experiment done = service.runAttempt(r.next(), RunListener.NONE, control);
                if (done.status() != ExperimentStatus.RUNNING) {
                    err.println(Foreground.summary(service, done));
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "the replacement of " + ended.name() + " could not be launched", e);
                err.println("sortie: " + ended.name() + ": the replacement could not be launched: " + e.getMessage());
            }
        }
    }
}
