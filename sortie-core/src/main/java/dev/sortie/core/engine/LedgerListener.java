package dev.sortie.core.engine;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunLocator;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

/** Writes what a run reports into the ledger as it comes, and passes output lines on (to the console). */
final class LedgerListener implements RunListener {
    private final Ledger ledger;
    private final Experiment experiment;
    private final String experimentId;
    private final RunListener next;
    private final Clock clock;
    private volatile RunLocator handle;
    /** When this attempt's command started, once it has (null: the record's own start stands). */
    private volatile Instant commandStarted;

    /** @param experiment the experiment as recorded when its attempt starts (status running) */
    LedgerListener(Ledger ledger, Experiment experiment, RunListener next, Clock clock) {
        this.ledger = ledger;
        this.experiment = experiment;
        this.experimentId = experiment.id();
        this.next = next;
        this.clock = clock;
    }

    /**
     * Puts the command's pid on the record, unless the experiment stopped being running meanwhile (a stop). The
     * first command of the attempt also sets its start: a queued experiment is claimed (and laid out) ahead of a
     * free slot, and the time it waited there is not the run's (identical runs showed 20 s and 39 s).
     */
    @Override
    public void started(RunLocator handle) {
        this.handle = handle;
        if (commandStarted == null && !handle.launcher() && !experiment.commandStarted()) {
            commandStarted = clock.instant();
        }
        if (experiment.status() == ExperimentStatus.RUNNING) {
            ledger.update(current(), ExperimentStatus.RUNNING);
        }
        next.started(handle);
    }

    /** The metric's point at its highest step, as recorded before this attempt's own (one metric's series, not the table). */
    @Override
    public double recorded(String metric) {
        List<MetricPoint> series = ledger.series(experimentId, metric);
        return series.isEmpty() ? Double.NaN : series.stream().max(java.util.Comparator.comparingLong(MetricPoint::step)).get().value();
    }

    /** The experiment with the latest handle its run reported (where it ran) and its command's start, for recording its end. */
    Experiment current() {
        RunLocator h = handle;
        Experiment e = h == null ? experiment : experiment.withHandle(h);
        Instant at = commandStarted;
        return at == null ? e : e.withStartedAt(at);
    }

    @Override
    public void progress(String message) {
        next.progress(message);
    }

    @Override
    public void launching() throws InterruptedException {
        next.launching();
    }

    @Override
    public void waiting(String message) {
        next.waiting(message);
    }

    @Override
    public void commandExited() {
        next.commandExited();
    }

    @Override
    public void output(String line) {
        next.output(line);
    }

    @Override
    public void outputBytes(byte[] bytes, int offset, int length) {
        next.outputBytes(bytes, offset, length);
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
