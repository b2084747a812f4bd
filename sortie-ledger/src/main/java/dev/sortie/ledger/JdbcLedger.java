package dev.sortie.ledger;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.RunLocator;
import java.time.Instant;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The ledger on JDBC: the same tables and statements on a SQLite file ({@link SqliteLedger}) and on PostgreSQL
 * ({@link PostgresLedger}). Safe to share between threads, and to use from several processes at once; each
 * {@link Database} says how.
 */
public abstract sealed class JdbcLedger implements Ledger permits SqliteLedger, PostgresLedger {
    /** An id prefix shorter than this never matches: too likely to be a typo that hits something. */
    static final int MIN_PREFIX = 4;

    final Database db;
    private final ExperimentsTable experiments;
    private final MetricsTable metrics;
    private final TablePages pages;
    private final ArtifactsTable artifacts = new ArtifactsTable();
    private final ControlTable controls = new ControlTable();
    private final AttemptsTable attempts = new AttemptsTable();
    private final ColumnNamesTable columnNames;

    JdbcLedger(Database db) {
        this.db = db;
        JsonColumns json = new JsonColumns();
        this.experiments = new ExperimentsTable(json, db.dialect());
        this.metrics = new MetricsTable(json);
        this.columnNames = new ColumnNamesTable(json);
        this.pages = new TablePages(new ExperimentRows(json), db.dialect());
    }

    /** Brings the schema of a database just opened up to date, closing it when that fails. */
    static <D extends Database> D migrated(D db) {
        try {
            SchemaMigrator.bringUpToDate(db);
        } catch (RuntimeException e) {
            db.close();
            throw e;
        }
        return db;
    }

    @Override
    public void insert(Experiment experiment) {
        insertAll(List.of(experiment));
    }

    @Override
    public void insertAll(Collection<Experiment> batch) {
        if (batch.isEmpty()) {
            return;
        }
        String what = batch.size() == 1 ? "add experiment " + batch.iterator().next().id()
                : "add " + batch.size() + " experiments";
        db.writeExclusive(what, c -> {
            experiments.insertAll(c, batch);
            countNames(c, batch);
            return null;
        });
    }

    @Override
    public List<Experiment> insertAllNaming(List<Experiment> batch, Map<String, String> defaultNameBases) {
        if (batch.isEmpty()) {
            return List.of();
        }
        String what = batch.size() == 1 ? "add experiment " + batch.get(0).id() : "add " + batch.size() + " experiments";
        return db.writeExclusive(what, c -> {
            List<Experiment> named = experiments.withDefaultNames(c, batch, defaultNameBases);
            experiments.insertAll(c, named);
            countNames(c, named);
            return named;
        });
    }

    @Override
    public Optional<Experiment> claimNext(String executor, RunLocator handle, Instant now) {
        return db.write("claim the next queued experiment for " + executor, c -> experiments.claimNext(c, executor, handle, now));
    }

    @Override
    public void deleteArtifacts(String experimentId, ArtifactKind kind) {
        db.write("forget the " + kind.name().toLowerCase(java.util.Locale.ROOT) + "s of experiment " + experimentId, c -> {
            artifacts.delete(c, experimentId, kind);
            return null;
        });
    }

    @Override
    public Optional<String> control(String name) {
        return db.read("read control '" + name + "'", c -> controls.get(c, name));
    }

    @Override
    public void setControl(String name, String value) {
        db.write("set control '" + name + "'", c -> {
            controls.set(c, name, value, System.currentTimeMillis());
            return null;
        });
    }

    @Override
    public boolean update(Experiment experiment, ExperimentStatus expected) {
        return db.write("update experiment " + experiment.id(), c -> {
            ColumnNamesTable.Row before = columnNames.row(c, experiment.id());
            boolean updated = experiments.update(c, experiment, expected);
            if (updated) {
                ColumnNamesTable.Row after = columnNames.row(c, experiment.id());
                if (!after.sameNames(before)) { // new params (an edited re-run): the table's param names follow
                    columnNames.remove(c, before);
                    columnNames.add(c, after);
                }
            }
            if (updated && experiment.status().isTerminal() && experiment.endedAt() != null) {
                attempts.ended(c, experiment); // the attempt's own record, kept when the next attempt takes the row
            }
            return updated;
        });
    }

    @Override
    public List<dev.sortie.core.model.AttemptRecord> attempts(String experimentId) {
        return db.read("list the attempts of experiment " + experimentId, c -> attempts.list(c, experimentId));
    }

    @Override
    public Optional<Experiment> find(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) {
            return Optional.empty();
        }
        return db.read("find experiment '" + idOrName + "'", c -> {
            Optional<Experiment> exact = experiments.findExact(c, idOrName);
            if (exact.isPresent() || idOrName.length() < MIN_PREFIX) {
                return exact;
            }
            List<Experiment> candidates = experiments.findByIdPrefix(c, idOrName);
            if (candidates.size() > 1) {
                throw ambiguous(idOrName, candidates);
            }
            return candidates.stream().findFirst();
        });
    }

    private static LedgerException ambiguous(String prefix, List<Experiment> candidates) {
        int shown = Math.min(candidates.size(), ExperimentsTable.PREFIX_CANDIDATES - 1);
        String names = candidates.subList(0, shown).stream()
                .map(e -> e.id() + " (" + e.name() + ")")
                .collect(Collectors.joining(", "));
        String more = candidates.size() > shown ? " and more" : "";
        return new LedgerException("'" + prefix + "' matches several experiments: " + names + more
                + "; give more of the id, or the name", null, true);
    }

    @Override
    public List<Experiment> list() {
        return db.read("list experiments", experiments::list);
    }

    @Override
    public List<Experiment> listByStatus(Collection<ExperimentStatus> statuses) {
        return db.read("list experiments by status", c -> experiments.listByStatus(c, statuses));
    }

    @Override
    public List<ExperimentView> views() {
        return db.read("read the experiments table", experiments::views);
    }

    @Override
    public TablePage tablePage(TableQuery query) {
        long now = System.currentTimeMillis();
        return db.read("read a page of the experiments table", c -> pages.page(c, query, now));
    }

    /** How the database runs {@link #tablePage}'s selects, one line per step (tests check they read an index, not the table). */
    List<String> explain(TableQuery query) {
        long now = System.currentTimeMillis();
        return db.read("explain a page of the experiments table", c -> pages.explain(c, query, now));
    }

    @Override
    public dev.sortie.core.ledger.TableColumns columns() {
        return db.read("list the columns of the experiments table", columnNames::columns);
    }

    /** Counts the param and stage names of experiments just inserted, in the same transaction. */
    private void countNames(Connection c, Collection<Experiment> inserted) throws SQLException {
        for (Experiment e : inserted) {
            columnNames.add(c, columnNames.row(c, e.id()));
        }
    }

    @Override
    public boolean nameExists(String name) {
        return db.read("look up experiment name '" + name + "'", c -> experiments.nameExists(c, name));
    }

    @Override
    public int count() {
        return db.read("count experiments", experiments::count);
    }

    @Override
    public int countByStatus(ExperimentStatus status) {
        return db.read("count " + status.label() + " experiments", c -> experiments.countByStatus(c, status));
    }

    @Override
    public void recordMetrics(String experimentId, Collection<MetricPoint> points) {
        recordMetrics(Map.of(experimentId, points));
    }

    /** Records the points of several experiments in one transaction (a bulk form of {@link #recordMetrics(String, Collection)}). */
    public void recordMetrics(Map<String, ? extends Collection<MetricPoint>> pointsByExperiment) {
        if (pointsByExperiment.values().stream().allMatch(Collection::isEmpty)) {
            return;
        }
        String what = pointsByExperiment.size() == 1
                ? "record metrics for experiment " + pointsByExperiment.keySet().iterator().next()
                : "record metrics for " + pointsByExperiment.size() + " experiments";
        db.write(what, c -> {
            for (String id : pointsByExperiment.keySet()) {
                requireExperiment(c, id, what);
            }
            metrics.record(c, pointsByExperiment);
            return null;
        });
    }

    @Override
    public List<MetricPoint> series(String experimentId, String key) {
        return db.read("read metric '" + key + "' of experiment " + experimentId, c -> metrics.series(c, experimentId, key));
    }

    @Override
    public java.util.Optional<dev.sortie.core.model.SeriesSpan> seriesSpan(String experimentId, String key) {
        return db.read("read the span of metric '" + key + "' of experiment " + experimentId, c -> metrics.span(c, experimentId, key));
    }

    @Override
    public List<MetricPoint> seriesExtremes(String experimentId, String key, long bucketWidth) {
        return db.read("read metric '" + key + "' of experiment " + experimentId, c -> metrics.extremes(c, experimentId, key, bucketWidth));
    }

    @Override
    public long lastStep(String experimentId) {
        return db.read("read the last step of experiment " + experimentId, c -> metrics.lastStep(c, experimentId));
    }

    @Override
    public void clearMetrics(String experimentId) {
        db.write("clear the metrics of experiment " + experimentId, c -> {
            metrics.clear(c, experimentId);
            return null;
        });
    }

    @Override
    public void recordArtifacts(String experimentId, Collection<ArtifactRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        db.write("record artifacts of experiment " + experimentId, c -> {
            requireExperiment(c, experimentId, "record artifacts of experiment " + experimentId);
            artifacts.record(c, experimentId, records);
            return null;
        });
    }

    @Override
    public List<ArtifactRecord> artifacts(String experimentId) {
        return db.read("list the artifacts of experiment " + experimentId, c -> artifacts.list(c, experimentId));
    }

    @Override
    public boolean delete(String experimentId) {
        // The foreign keys cascade too; deleting the children explicitly keeps that true on a connection where
        // enforcement is off (SQLite's default).
        return db.write("delete experiment " + experimentId, c -> {
            metrics.clear(c, experimentId);
            artifacts.clear(c, experimentId);
            attempts.clear(c, experimentId);
            ColumnNamesTable.Row before = columnNames.row(c, experimentId);
            boolean deleted = experiments.delete(c, experimentId);
            if (deleted) {
                columnNames.remove(c, before);
            }
            return deleted;
        });
    }

    /** Gives a clear error for an unknown experiment instead of a foreign-key failure. */
    private void requireExperiment(Connection c, String experimentId, String what) throws SQLException {
        Objects.requireNonNull(experimentId, "experimentId");
        if (!experiments.idExists(c, experimentId)) {
            throw new LedgerException("cannot " + what + ": there is no experiment with id '" + experimentId + "'", null);
        }
    }

    @Override
    public void close() {
        db.close();
    }
}
