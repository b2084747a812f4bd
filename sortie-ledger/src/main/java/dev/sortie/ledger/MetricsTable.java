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
    private static final String UPSERT_POINT = "INSERT INTO metric_points (experiment_id, metric_key, step, value, logged_at)"
            + " VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (experiment_id, metric_key, step) DO UPDATE SET value = excluded.value, logged_at = excluded.logged_at";
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
        try (PreparedStatement points = c.prepareStatement(UPSERT_POINT);
                PreparedStatement latest = c.prepareStatement(UPSERT_LATEST)) {
            for (Map.Entry<String, ? extends Collection<MetricPoint>> entry : pointsByExperiment.entrySet()) {
                String id = entry.getKey();
                for (MetricPoint p : entry.getValue()) {
                    bind(points, id, p);
                    points.addBatch();
                }
                for (MetricPoint p : latestByKey(entry.getValue()).values()) {
                    bind(latest, id, p);
                    latest.addBatch();
                    batchOwners.add(id);
                }
            }
            points.executeBatch();
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
        for (String sql : List.of("DELETE FROM metric_points WHERE experiment_id = ?",
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
