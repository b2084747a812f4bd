package dev.sortie.core.ledger;

import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The store of experiments. Implementations must be safe to use from several processes at once (a
 * {@code sortie run} writing metrics while a {@code sortie show} reads) and from several threads of one
 * process. Status changes go through {@link #update(Experiment, ExperimentStatus)}, a compare-and-set, so two
 * processes never both decide an experiment's fate.
 */
public interface Ledger extends AutoCloseable {

    /** Adds a new experiment; fails with {@link LedgerException} if its id or name is taken. */
    void insert(Experiment experiment);

    /** Adds several experiments in one transaction: all of them, or none if one clashes. */
    void insertAll(Collection<Experiment> experiments);

    /**
     * Adds several experiments in one transaction, naming those whose id is a key of {@code defaultNameBases}
     * {@code <base>-<n>} inside it: n is the number of experiments plus one, or the next number whose name is free.
     * The number is taken and the row inserted under one write lock, so runs started at once by several
     * processes get distinct names; the names of the others are theirs and clash as in {@link #insertAll}.
     *
     * @return the experiments as recorded, in order, with their names
     */
    List<Experiment> insertAllNaming(List<Experiment> experiments, java.util.Map<String, String> defaultNameBases);

    /**
     * Takes the oldest queued experiment meant for {@code executor} (or for any executor: queued with executor "")
     * and marks it running there with {@code handle}, atomically: two workers calling this at once never get the
     * same experiment. Empty when nothing is queued for it.
     */
    Optional<Experiment> claimNext(String executor, dev.sortie.core.model.RunLocator handle, java.time.Instant now);

    /**
     * Replaces the stored row of {@code experiment.id()} with {@code experiment} if the stored status is still
     * {@code expected}; returns false (changing nothing) otherwise, or when the experiment does not exist.
     */
    boolean update(Experiment experiment, ExperimentStatus expected);

    /** By exact id, exact name, or a unique id prefix of at least 4 characters. */
    Optional<Experiment> find(String idOrName);

    /** All experiments, oldest first. */
    List<Experiment> list();

    List<Experiment> listByStatus(Collection<ExperimentStatus> statuses);

    /** Every experiment with its latest metric values, oldest first: the experiments table in one call. */
    List<ExperimentView> views();

    /**
     * One page of the experiments table, filtered, ordered and cut as {@code query} says (see {@link TableQuery} for
     * the order), with how many experiments pass its filters. A ledger on a database answers it there (indexes, no table
     * read whole); this default reads every row, for ledgers that keep few experiments.
     */
    default TablePage tablePage(TableQuery query) {
        return InMemoryTablePages.page(views(), query, java.time.Instant.now());
    }

    /**
     * The param and metric names of the whole table and whether any experiment ran a DVC stage ({@link TableColumns}):
     * show's default columns and the names its filters and sort may use, without reading every row where the ledger
     * keeps them apart (a database ledger: a names table kept with the rows, the metrics table's index); this default
     * reads every row.
     */
    default TableColumns columns() {
        return TableColumns.of(views());
    }

    boolean nameExists(String name);

    /** How many experiments there are. */
    int count();

    /** How many experiments have this status. */
    int countByStatus(ExperimentStatus status);

    /** The latest value of each metric of one experiment. */
    default java.util.Map<String, Double> latestMetrics(String experimentId) {
        return views().stream().filter(v -> v.experiment().id().equals(experimentId)).findFirst()
                .map(ExperimentView::metrics).orElse(java.util.Map.of());
    }

    /**
     * Records points idempotently: a point with the same (experiment, key, step) replaces the stored one,
     * and each key's latest value (the point with the highest step) becomes its scalar.
     */
    void recordMetrics(String experimentId, Collection<MetricPoint> points);

    /** The step series of one metric, by step. */
    List<MetricPoint> series(String experimentId, String key);

    /**
     * The number of points and the first and last step of one metric's series; empty when it has none. A ledger that
     * keeps rollups of its series answers from a handful of rows; this default reads every point.
     */
    default Optional<dev.sortie.core.model.SeriesSpan> seriesSpan(String experimentId, String key) {
        List<MetricPoint> s = series(experimentId, key);
        return s.isEmpty() ? Optional.empty()
                : Optional.of(new dev.sortie.core.model.SeriesSpan(s.size(), s.get(0).step(), s.get(s.size() - 1).step()));
    }

    /**
     * The points of a series that a chart cutting it into buckets of {@code bucketWidth} steps (a power of two, the
     * buckets starting at multiples of it) needs to keep each bucket's lowest and highest point exactly: its first and
     * last point, and of each smaller aligned bucket its first, lowest, highest and last point (of equal values the
     * lowest step), by step. Every point when the series is short or the buckets narrow. A ledger that keeps rollups
     * reads them instead of every point; this default returns every point.
     */
    default List<MetricPoint> seriesExtremes(String experimentId, String key, long bucketWidth) {
        return series(experimentId, key);
    }

    /**
     * The highest step of any metric of an experiment, the machine's own samples ({@code sys/...}, which count their
     * own steps) left out; -1 when it has none: where a run was when it was interrupted. A ledger answers it with one
     * query on each key's latest point; this default reads every series.
     */
    default long lastStep(String experimentId) {
        long last = -1;
        for (String key : latestMetrics(experimentId).keySet()) {
            if (key.startsWith("sys/")) {
                continue;
            }
            List<MetricPoint> s = series(experimentId, key);
            if (!s.isEmpty()) {
                last = Math.max(last, s.get(s.size() - 1).step());
            }
        }
        return last;
    }

    /** Deletes all metric points and scalars of an experiment (a retry starts clean). */
    void clearMetrics(String experimentId);

    /** The ended attempts of an experiment, first first (none for a ledger that does not keep them). */
    default List<dev.sortie.core.model.AttemptRecord> attempts(String experimentId) {
        return List.of();
    }

    /** Adds or replaces (same kind and path) saved files of an experiment. */
    void recordArtifacts(String experimentId, Collection<ArtifactRecord> artifacts);

    List<ArtifactRecord> artifacts(String experimentId);

    /** Forgets the saved files of one kind (their blobs stay in the store). */
    void deleteArtifacts(String experimentId, dev.sortie.core.model.ArtifactKind kind);

    /** A small named setting shared by every process on this ledger (e.g. a queue stop request); empty if unset. */
    Optional<String> control(String name);

    /** Sets (or with null, clears) a {@link #control} value. */
    void setControl(String name, String value);

    /** Removes an experiment and everything recorded for it. Returns false if it did not exist. */
    boolean delete(String experimentId);

    /** Whether this ledger was opened only to read it (its folder cannot be written): nothing can be recorded. */
    default boolean readOnly() {
        return false;
    }

    /**
     * Why this ledger can no longer record anything, if it cannot: the file it opened was removed or replaced
     * since (an {@code rm -rf .sortie} while a run went on), so what it writes goes to a deleted file that no
     * later sortie will read. Empty while it is still the file at its path (and for ledgers without a file).
     */
    default Optional<String> detachedFromItsPath() {
        return Optional.empty();
    }

    @Override
    void close();
}
