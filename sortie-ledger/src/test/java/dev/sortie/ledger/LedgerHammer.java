package dev.sortie.ledger;

import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A second process for {@link MultiProcessLedgerTest}: opens the ledger at a given moment (so several processes
 * race to create it), adds its own experiment and then writes to it as fast as it can, the way a
 * {@code sortie run} records metrics while others use the same file. Exits 0 when everything succeeded, 1 on any
 * exception, 2 if a compare-and-set that only it makes failed.
 *
 * <p>Arguments: database file, experiment id, number of steps, epoch millis to open the ledger at.
 */
public final class LedgerHammer {
    private LedgerHammer() {
    }

    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        String id = args[1];
        int steps = Integer.parseInt(args[2]);
        long openAt = Long.parseLong(args[3]);
        try {
            long wait = openAt - System.currentTimeMillis();
            if (wait > 0) {
                Thread.sleep(wait);
            }
            try (SqliteLedger ledger = SqliteLedger.open(file)) {
                Experiment current = TestExperiments.queued(id, "hammer-" + id, Instant.now());
                ledger.insert(current);
                for (int step = 0; step < steps; step++) {
                    ledger.recordMetrics(id, List.of(new MetricPoint("loss", step, 1.0 / (step + 1), Instant.now()),
                            new MetricPoint("acc", step, step / (double) steps, Instant.now())));
                    if (step % 10 == 0) {
                        Experiment next = current.status() == ExperimentStatus.QUEUED
                                ? current.started(Instant.now(), new RunLocator("local", "h", new ProcessLocation(ProcessHandle.current().pid(), null, step, null).value()))
                                : current.withStatus(ExperimentStatus.QUEUED);
                        if (!ledger.update(next, current.status())) {
                            System.err.println("compare-and-set on " + id + " failed at step " + step);
                            System.exit(2);
                        }
                        current = next;
                    }
                    if (step % 25 == 0) {
                        ledger.views();
                        ledger.find(id).orElseThrow();
                    }
                }
                Experiment done = current.ended(ExperimentStatus.SUCCEEDED, Instant.now(), 0, null);
                if (!ledger.update(done, current.status())) {
                    System.err.println("final compare-and-set on " + id + " failed");
                    System.exit(2);
                }
            }
            System.out.println("done " + id);
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }
}
