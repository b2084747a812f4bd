package dev.sortie.core.engine;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunHandle;
import java.util.List;

/** Writes what a run reports into the ledger as it comes, and passes output lines on (to the console). */
final class LedgerListener implements RunListener {
    private final Ledger ledger;
    private final String experimentId;
    private final RunListener next;

    LedgerListener(Ledger ledger, String experimentId, RunListener next) {
        this.ledger = ledger;
        this.experimentId = experimentId;
        this.next = next;
    }

    @Override
    public void started(RunHandle handle) {
        ledger.find(experimentId).ifPresent(e -> {
            if (e.status() == ExperimentStatus.RUNNING) {
                Experiment withHandle = e.withHandle(handle);
                ledger.update(withHandle, ExperimentStatus.RUNNING);
            }
        });
        next.started(handle);
    }

    @Override
    public void output(String line) {
        next.output(line);
    }

    @Override
    public void metrics(List<MetricPoint> points) {
        ledger.recordMetrics(experimentId, points);
        next.metrics(points);
    }

    @Override
    public void saved(List<ArtifactRecord> files) {
        ledger.recordArtifacts(experimentId, files);
        next.saved(files);
    }
}
