package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.io.PrintStream;

/**
 * The CLI's side of core's {@link dev.sortie.core.engine.OrphanedRecoveries} (the one code path that decides to
 * continue a run whose instance went away while no sortie followed it): its lines on stderr, and the summary of an
 * attempt that ended while it was launched. What {@code status}, {@code queue start}, {@code logs -f} and {@code run} do.
 */
public final class OrphanedRecoveries {
    private OrphanedRecoveries() {
    }

    public static void launch(ExperimentService service, PrintStream err) {
        try {
            for (Experiment done : new dev.sortie.core.engine.OrphanedRecoveries(service, Foreground.GRACE).run(err::println)) {
                if (done.status() != ExperimentStatus.RUNNING) {
                    err.println(Foreground.summary(service, done));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
