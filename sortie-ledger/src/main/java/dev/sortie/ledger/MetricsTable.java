package dev.sortie.ledger;

import dev.sortie.core.model.MetricPoint;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The statements on {@code metric_points} (every point), {@code metrics} (each key's point at the highest step)
 * and the {@code latest_metrics} column of {@code experiments} (those scalars as one JSON object, so the
 * experiments table reads one row per experiment). Each method runs inside a transaction its caller holds.
 * SQLite cannot store NaN (it turns it into NULL), so a null value is read back as NaN.
 */
final class MetricsTable {
    /** A point at a new step; 0 rows for a step already stored, whose point goes to {@link #REPLACE_POINT} instead. */
    private static final String INSERT_POINT = "INSERT INTO metric_points (experiment_id, metric_key, step, value, logged_at)"
            + " VALUES (?, ?, ?, ?, ?) ON CONFLICT (experiment_id, metric_key, step) DO NOTHING";
    /** A point sent again: 1 row when its value changed (its series' rollups are rebuilt), 0 for a true resend. */
    private static final String REPLACE_POINT = "UPDATE metric_points SET value = ?, logged_at = ?"
            + " WHERE experiment_id = ? AND metric_key = ? AND step = ? AND value IS DISTINCT FROM ?";
    private static final String RETIME_POINT = "UPDATE metric_points SET logged_at = ? WHERE experiment_id = ? AND metric_key = ? AND step = ?";
    /** Moves the scalar only forward (or rewrites the same step), so re-reading a log from its start changes nothing. */
    private static final String UPSERT_LATEST = "INSERT INTO metrics (experiment_id, metric_key, step, value, logged_at)"
            + " VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (experiment_id, metric_key) DO UPDATE SET step = excluded.step, value = excluded.value,"
            + " logged_at = excluded.logged_at WHERE excluded.step >= metrics.step";

    private final JsonColumns json;

    MetricsTable(JsonColumns json) {
        this.json = json;
    }

    /**
     * Records the points of several experiments with one pair of batched statements, then rewrites the
     * {@code latest_metrics} column of the experiments whose scalars moved.
     */
    void record(Connection c, Map<String, ? extends Collection<MetricPoint>> pointsByExperiment) throws SQLException {
        List<String> batchOwners = new ArrayList<>();
        List<String> pointOwners = new ArrayList<>();
        List<MetricPoint> batched = new ArrayList<>();
        try (PreparedStatement points = c.prepareStatement(INSERT_POINT);
                PreparedStatement latest = c.prepareStatement(UPSERT_LATEST)) {
            for (Map.Entry<String, ? extends Collection<MetricPoint>> entry : pointsByExperiment.entrySet()) {
                String id = entry.getKey();
                for (MetricPoint p : entry.getValue()) {
                    bind(points, id, p);
                    points.addBatch();
                    pointOwners.add(id);
                    batched.add(p);
                }
                for (MetricPoint p : latestByKey(entry.getValue()).values()) {
                    bind(latest, id, p);
                    latest.addBatch();
                    batchOwners.add(id);
                }
            }
            int[] inserted = points.executeBatch();
            rollUp(c, pointOwners, batched, inserted);
            int[] changed = latest.executeBatch();
            Set<String> moved = new LinkedHashSet<>();
            for (int i = 0; i < changed.length; i++) {
                // 0 when the stored scalar has a higher step (re-reading an old log): nothing to rewrite
                if (changed[i] != 0) {
                    moved.add(batchOwners.get(i));
                }
            }
            refreshLatest(c, moved);
        }
    }

    /**
     * Merges the new points into their series' rollups, replaces the points sent again, and rebuilds the rollups of a
     * series one of whose values changed (its old extreme may be gone).
     */
    private void rollUp(Connection c, List<String> owners, List<MetricPoint> points, int[] inserted) throws SQLException {
        Map<MetricRollups.SeriesKey, List<MetricPoint>> fresh = new LinkedHashMap<>();
        List<Integer> again = new ArrayList<>();
        for (int i = 0; i < inserted.length; i++) {
            if (inserted[i] == 0) {
                again.add(i);
            } else {
                fresh.computeIfAbsent(new MetricRollups.SeriesKey(owners.get(i), points.get(i).key()), k -> new ArrayList<>()).add(points.get(i));
            }
        }
        MetricRollups.merge(c, fresh);
        if (again.isEmpty()) {
            return;
        }
        Set<MetricRollups.SeriesKey> dirty = new LinkedHashSet<>();
        try (PreparedStatement replace = c.prepareStatement(REPLACE_POINT)) {
            for (int i : again) {
                MetricPoint p = points.get(i);
                setValue(replace, 1, p.value());
                ExperimentRows.setInstant(replace, 2, p.time());
                replace.setString(3, owners.get(i));
                replace.setString(4, p.key());
                replace.setLong(5, p.step());
                setValue(replace, 6, p.value());
                replace.addBatch();
            }
            // run in order: a point twice in one batch is compared with the value the first one left
            int[] replaced = replace.executeBatch();
            for (int j = 0; j < replaced.length; j++) {
                if (replaced[j] != 0) {
                    dirty.add(new MetricRollups.SeriesKey(owners.get(again.get(j)), points.get(again.get(j)).key()));
                }
            }
        }
        try (PreparedStatement retime = c.prepareStatement(RETIME_POINT)) {
            for (int i : again) {
                MetricPoint p = points.get(i);
                ExperimentRows.setInstant(retime, 1, p.time());
                retime.setString(2, owners.get(i));
                retime.setString(3, p.key());
                retime.setLong(4, p.step());
                retime.addBatch();
            }
            retime.executeBatch();
        }
        for (MetricRollups.SeriesKey s : dirty) {
            MetricRollups.rebuild(c, s, series(c, s.experimentId(), s.metricKey()));
        }
    }

    private static void setValue(PreparedStatement ps, int index, double v) throws SQLException {
        if (Double.isNaN(v)) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, v);
        }
    }

    /** Rewrites {@code experiments.latest_metrics} of each experiment from its rows in {@code metrics}. */
    private void refreshLatest(Connection c, Collection<String> experimentIds) throws SQLException {
        if (experimentIds.isEmpty()) {
            return;
        }
        try (PreparedStatement read = c.prepareStatement(
                "SELECT metric_key, value FROM metrics WHERE experiment_id = ? ORDER BY metric_key");
                PreparedStatement write = c.prepareStatement("UPDATE experiments SET latest_metrics = ? WHERE id = ?")) {
            for (String id : experimentIds) {
                Map<String, Double> latest = new LinkedHashMap<>();
                read.setString(1, id);
                try (ResultSet rs = read.executeQuery()) {
                    while (rs.next()) {
                        latest.put(rs.getString(1), value(rs, 2));
                    }
                }
                write.setString(1, latest.isEmpty() ? null : json.metrics(latest));
                write.setString(2, id);
                write.addBatch();
            }
            write.executeBatch();
        }
    }

    /** Each key's point with the highest step; of equal steps the later one, as the upsert of points keeps it. */
    private static Map<String, MetricPoint> latestByKey(Collection<MetricPoint> points) {
        Map<String, MetricPoint> latest = new LinkedHashMap<>();
        for (MetricPoint p : points) {
            latest.merge(p.key(), p, (old, now) -> now.step() >= old.step() ? now : old);
        }
        return latest;
    }

    private static void bind(PreparedStatement ps, String experimentId, MetricPoint p) throws SQLException {
        ps.setString(1, experimentId);
        ps.setString(2, p.key());
        ps.setLong(3, p.step());
        if (Double.isNaN(p.value())) {
            ps.setNull(4, Types.DOUBLE);
        } else {
            ps.setDouble(4, p.value());
        }
        ExperimentRows.setInstant(ps, 5, p.time());
    }

    List<MetricPoint> series(Connection c, String experimentId, String key) throws SQLException {
        List<MetricPoint> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT step, value, logged_at FROM metric_points"
                + " WHERE experiment_id = ? AND metric_key = ? ORDER BY step")) {
            ps.setString(1, experimentId);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new MetricPoint(key, rs.getLong(1), value(rs, 2), ExperimentRows.getInstant(rs, 3)));
                }
            }
        }
        return out;
    }

    java.util.Optional<dev.sortie.core.model.SeriesSpan> span(Connection c, String experimentId, String key) throws SQLException {
        return MetricRollups.span(c, experimentId, key);
    }

    /** The rollups' extremes at the widest level that fits {@code bucketWidth}; every point when none does. */
    List<MetricPoint> extremes(Connection c, String experimentId, String key, long bucketWidth) throws SQLException {
        int level = MetricRollups.levelFor(bucketWidth);
        return level < 0 ? series(c, experimentId, key) : MetricRollups.extremes(c, experimentId, key, level);
    }

    /**
     * The highest step of the experiment's metrics but the machine's samples ({@code sys/...}), or -1: one look at
     * {@code metrics}, which holds each key's point at its highest step, instead of reading every series.
     */
    long lastStep(Connection c, String experimentId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT MAX(step) FROM metrics WHERE experiment_id = ? AND substr(metric_key, 1, 4) <> 'sys/'")) {
            ps.setString(1, experimentId);
            try (ResultSet rs = ps.executeQuery()) {
                long max = rs.next() ? rs.getLong(1) : -1;
                return rs.wasNull() ? -1 : max;
            }
        }
    }

    void clear(Connection c, String experimentId) throws SQLException {
        for (String sql : List.of("DELETE FROM metric_points WHERE experiment_id = ?", "DELETE FROM metric_rollups WHERE experiment_id = ?",
                "DELETE FROM metrics WHERE experiment_id = ?",
                "UPDATE experiments SET latest_metrics = NULL WHERE id = ?")) {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, experimentId);
                ps.executeUpdate();
            }
        }
    }

    private static double value(ResultSet rs, int index) throws SQLException {
        double v = rs.getDouble(index);
        return rs.wasNull() ? Double.NaN : v;
    }
}
