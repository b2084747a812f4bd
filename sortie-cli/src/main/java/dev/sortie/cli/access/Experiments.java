package dev.sortie.cli.access;

import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentView;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * Where the experiments a command reads and changes live: the project's own ledger ({@link LocalExperiments}) or a
 * Sortie server's table ({@link RemoteExperiments}, after {@code sortie login}). The commands that work either way
 * use this, so each prints the same table and messages whichever it is.
 */
public interface Experiments {

    /** Every experiment with its latest metrics, oldest first, as {@code sortie show} tables them. */
    List<ExperimentView> views();

    /** An experiment's ended attempts. */
    List<AttemptRecord> attempts(String experimentId);

    /** One experiment by id, id prefix or name (NotFoundException otherwise). */
    Experiment find(String ref);

    /** One experiment with its latest metrics (and its code, where known). */
    ExperimentView view(String ref);

    /** The files an experiment saved (artifacts and checkpoints). */
    List<dev.sortie.core.model.ArtifactRecord> artifacts(String experimentId);

    /** Writes a saved file of an experiment to {@code target}. */
    void download(String experimentId, dev.sortie.core.model.ArtifactRecord file, java.nio.file.Path target) throws java.io.IOException;

    /** The queued experiments, next first. */
    List<Experiment> queued();

    /** Stops a running experiment: SIGTERM, SIGKILL after {@code grace}; the experiment as it is after. */
    Experiment stop(String ref, Duration grace);

    /** Puts a finished experiment back in the queue as its next attempt. */
    Experiment requeue(String ref);

    /**
     * Queues experiments: each the project's task (its sortie.yaml) with its overrides, or its argv when it has one.
     */
    List<Experiment> enqueue(List<dev.sortie.core.engine.RunRequest> requests) throws java.io.IOException;

    /**
     * Prints an attempt's log to {@code out} (bytes as written), following it until the attempt ends when {@code follow};
     * the exit code {@code sortie logs} ends with.
     */
    int printLog(String ref, Integer attempt, boolean follow, PrintStream out, PrintStream err) throws Exception;

    /** What {@code sortie status} prints: the experiments in flight, the executors' machines and their states. */
    StatusReport status();

    /** A metric's step series of an experiment, by step. */
    List<dev.sortie.core.model.MetricPoint> series(String experimentId, String key);

    /**
     * Removes an experiment with its logs (a queued one too); a running one only with {@code force}, which stops it
     * first. The experiment as it was removed.
     */
    Experiment remove(String ref, boolean force) throws Exception;

    /** Takes a queued experiment out of the queue and the table; false if a worker claimed it first. */
    boolean removeQueued(Experiment queued) throws java.io.IOException;

    /** Tells every worker to claim no more experiments (running ones finish); how many run now. */
    long stopQueue();

    /** Where these experiments are, for messages: "the local ledger" or the server's URL. */
    String where();
}
