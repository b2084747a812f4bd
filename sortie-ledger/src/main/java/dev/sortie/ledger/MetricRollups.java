package dev.sortie.ledger;

import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.SeriesSpan;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Downsampled copies of every metric series in {@code metric_rollups}: for a few fixed bucket widths (powers of two,
 * 2^4 to 2^14 steps, buckets starting at multiples of the width) each bucket's number of points and its first, lowest,
 * highest and last point. A chart of 10,000 steps reads a few hundred of these rows instead of every point, and since
 * a bucket's extremes are kept exactly, cutting the rows onto a grid whose buckets are unions of whole rollup buckets
 * gives the very same lines as cutting the raw points (a spike one step wide survives).
 *
 * <p>New points are merged into the rows of every level with one batched upsert (min/max/first/last compare in SQL,
 * so points may come in any order); a point whose value was replaced cannot be merged (the old extreme may be gone),
 * so its series is rebuilt from its points. Of equal values the lowest step is kept, as the raw cut keeps the first.
 */
final class MetricRollups {
    /** log2 of each level's bucket width: 16, 64, 256, 1,024, 4,096 and 16,384 steps. */
    static final int[] LEVELS = {4, 6, 8, 10, 12, 14};
    private static final int TOP = LEVELS[LEVELS.length - 1];

    private static final String COLUMNS = "experiment_id, metric_key, width_log2, bucket, points, first_step, first_value,"
            + " last_step, last_value, min_step, min_value, max_step, max_value";
    private static final String INSERT = "INSERT INTO metric_rollups (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String NEW_MIN = "excluded.min_value IS NOT NULL AND (r.min_value IS NULL OR excluded.min_value < r.min_value"
            + " OR (excluded.min_value = r.min_value AND excluded.min_step < r.min_step))";
    private static final String NEW_MAX = "excluded.max_value IS NOT NULL AND (r.max_value IS NULL OR excluded.max_value > r.max_value"
            + " OR (excluded.max_value = r.max_value AND excluded.max_step < r.max_step))";
    /** Every SET expression reads the row as it was (both databases), so the CASEs may test columns set beside them. */
    private static final String MERGE = "INSERT INTO metric_rollups AS r (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (experiment_id, metric_key, width_log2, bucket) DO UPDATE SET points = r.points + excluded.points,"
            + " first_step = CASE WHEN excluded.first_step < r.first_step THEN excluded.first_step ELSE r.first_step END,"
            + " first_value = CASE WHEN excluded.first_step < r.first_step THEN excluded.first_value ELSE r.first_value END,"
            + " last_step = CASE WHEN excluded.last_step > r.last_step THEN excluded.last_step ELSE r.last_step END,"
            + " last_value = CASE WHEN excluded.last_step > r.last_step THEN excluded.last_value ELSE r.last_value END,"
            + " min_step = CASE WHEN " + NEW_MIN + " THEN excluded.min_step ELSE r.min_step END,"
            + " min_value = CASE WHEN " + NEW_MIN + " THEN excluded.min_value ELSE r.min_value END,"
            + " max_step = CASE WHEN " + NEW_MAX + " THEN excluded.max_step ELSE r.max_step END,"
            + " max_value = CASE WHEN " + NEW_MAX + " THEN excluded.max_value ELSE r.max_value END";

    private MetricRollups() {
    }

    /** One series' key in a batch. */
    record SeriesKey(String experimentId, String metricKey) {
    }

    private record BucketKey(String experimentId, String metricKey, int widthLog2, long bucket) {
    }

    /** A bucket being summed up in Java; NaN values count as points but are never an extreme (as in the raw cut). */
    static final class Bucket {
        long points;
        long firstStep = Long.MAX_VALUE;
        double firstValue;
        long lastStep = Long.MIN_VALUE;
        double lastValue;
        long minStep;
        double minValue = Double.NaN;
        long maxStep;
        double maxValue = Double.NaN;

        void add(long step, double value) {
            points++;
            if (step < firstStep) {
                firstStep = step;
                firstValue = value;
            }
            if (step > lastStep) {
                lastStep = step;
                lastValue = value;
            }
            if (!Double.isNaN(value)) {
                if (Double.isNaN(minValue) || value < minValue || (value == minValue && step < minStep)) {
                    minValue = value;
                    minStep = step;
                }
                if (Double.isNaN(maxValue) || value > maxValue || (value == maxValue && step < maxStep)) {
                    maxValue = value;
                    maxStep = step;
                }
            }
        }
    }

    /** Merges new points (none of them at a step already stored) into the rows of every level, one batch for all. */
    static void merge(Connection c, Map<SeriesKey, List<MetricPoint>> newPoints) throws SQLException {
        Map<BucketKey, Bucket> buckets = new LinkedHashMap<>();
        for (Map.Entry<SeriesKey, List<MetricPoint>> e : newPoints.entrySet()) {
            for (MetricPoint p : e.getValue()) {
                for (int level : LEVELS) {
                    buckets.computeIfAbsent(new BucketKey(e.getKey().experimentId(), e.getKey().metricKey(), level, p.step() >> level),
                            k -> new Bucket()).add(p.step(), p.value());
                }
            }
        }
        write(c, MERGE, buckets);
    }

    /** Rewrites the rows of one series from all its points, read in step order. */
    static void rebuild(Connection c, SeriesKey series, List<MetricPoint> points) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM metric_rollups WHERE experiment_id = ? AND metric_key = ?")) {
            ps.setString(1, series.experimentId());
            ps.setString(2, series.metricKey());
            ps.executeUpdate();
        }
        Map<BucketKey, Bucket> buckets = new LinkedHashMap<>();
        for (MetricPoint p : points) {
            for (int level : LEVELS) {
                buckets.computeIfAbsent(new BucketKey(series.experimentId(), series.metricKey(), level, p.step() >> level),
                        k -> new Bucket()).add(p.step(), p.value());
            }
        }
        write(c, INSERT, buckets);
    }

    /**
     * Fills the rows of every series from {@code metric_points}, read once in key order: the migration that adds the
     * table, and a bulk load that inserted points without them (rows already there are replaced).
     */
    static long fillAll(Connection c) throws SQLException {
        long series = 0;
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM metric_rollups")) {
            ps.executeUpdate();
        }
        try (PreparedStatement read = c.prepareStatement(
                "SELECT experiment_id, metric_key, step, value FROM metric_points ORDER BY experiment_id, metric_key, step")) {
            read.setFetchSize(10_000);
            Map<BucketKey, Bucket> open = new LinkedHashMap<>();
            String exp = null;
            String key = null;
            try (ResultSet rs = read.executeQuery()) {
                while (rs.next()) {
                    String e = rs.getString(1);
                    String k = rs.getString(2);
                    if (!e.equals(exp) || !k.equals(key)) {
                        exp = e;
                        key = k;
                        series++;
                        if (open.size() > 50_000) {
                            write(c, INSERT, open);
                            open.clear();
                        }
                    }
                    long step = rs.getLong(3);
                    double v = rs.getDouble(4);
                    if (rs.wasNull()) {
                        v = Double.NaN;
                    }
                    for (int level : LEVELS) {
                        open.computeIfAbsent(new BucketKey(e, k, level, step >> level), x -> new Bucket()).add(step, v);
                    }
                }
            }
            write(c, INSERT, open);
        }
        return series;
    }

    private static void write(Connection c, String sql, Map<BucketKey, Bucket> buckets) throws SQLException {
        if (buckets.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int n = 0;
            for (Map.Entry<BucketKey, Bucket> e : buckets.entrySet()) {
                BucketKey k = e.getKey();
                Bucket b = e.getValue();
                ps.setString(1, k.experimentId());
                ps.setString(2, k.metricKey());
                ps.setInt(3, k.widthLog2());
                ps.setLong(4, k.bucket());
                ps.setLong(5, b.points);
                ps.setLong(6, b.firstStep);
                setValue(ps, 7, b.firstValue);
                ps.setLong(8, b.lastStep);
                setValue(ps, 9, b.lastValue);
                // a bucket of NaNs alone has no extreme: its values null, its steps the first's (never null, so
                // that the reader needs no null check on them)
                boolean any = !Double.isNaN(b.minValue);
                ps.setLong(10, any ? b.minStep : b.firstStep);
                setValue(ps, 11, b.minValue);
                ps.setLong(12, any ? b.maxStep : b.firstStep);
                setValue(ps, 13, b.maxValue);
                ps.addBatch();
                if (++n % 5_000 == 0) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
        }
    }

    private static void setValue(PreparedStatement ps, int index, double v) throws SQLException {
        if (Double.isNaN(v)) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, v);
        }
    }

    /** The series' point count and first and last step, from its few rows of the widest level. */
    static Optional<SeriesSpan> span(Connection c, String experimentId, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT SUM(points), MIN(first_step), MAX(last_step) FROM metric_rollups"
                + " WHERE experiment_id = ? AND metric_key = ? AND width_log2 = ?")) {
            ps.setString(1, experimentId);
            ps.setString(2, key);
            ps.setInt(3, TOP);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                long points = rs.getLong(1);
                return rs.wasNull() || points == 0 ? Optional.empty() : Optional.of(new SeriesSpan(points, rs.getLong(2), rs.getLong(3)));
            }
        }
    }

    /** The widest level whose buckets fit whole into buckets of {@code bucketWidth} steps, or -1 when none does. */
    static int levelFor(long bucketWidth) {
        int level = -1;
        for (int l : LEVELS) {
            if (bucketWidth > 0 && Long.bitCount(bucketWidth) == 1 && (1L << l) <= bucketWidth) {
                level = l;
            }
        }
        return level;
    }

    /**
     * The lowest and highest point of each bucket of one level, by step, each once, and the series' first and last
     * point: every point that a min/max cut onto buckets made of whole buckets of this level keeps. Four columns a row
     * (each column read costs a call into SQLite's native code; a chart reads tens of thousands of rows).
     */
    static List<MetricPoint> extremes(Connection c, String experimentId, String key, int level) throws SQLException {
        List<MetricPoint> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT min_step, min_value, max_step, max_value FROM metric_rollups"
                + " WHERE experiment_id = ? AND metric_key = ? AND width_log2 = ? ORDER BY bucket")) {
            ps.setString(1, experimentId);
            ps.setString(2, key);
            ps.setInt(3, level);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long minStep = rs.getLong(1);
                    double min = rs.getDouble(2);
                    if (rs.wasNull()) {
                        continue; // every value of the bucket is NaN: no extreme
                    }
                    long maxStep = rs.getLong(3);
                    double max = rs.getDouble(4);
                    out.add(new MetricPoint(key, Math.min(minStep, maxStep), minStep <= maxStep ? min : max, null));
                    if (minStep != maxStep) {
                        out.add(new MetricPoint(key, Math.max(minStep, maxStep), minStep <= maxStep ? max : min, null));
                    }
                }
            }
        }
        // the first and last point, which give a chart its span (their values may be NaN)
        try (PreparedStatement ps = c.prepareStatement("SELECT first_step, first_value FROM (SELECT first_step, first_value FROM metric_rollups"
                + " WHERE experiment_id = ? AND metric_key = ? AND width_log2 = ? ORDER BY bucket LIMIT 1) f UNION ALL"
                + " SELECT last_step, last_value FROM (SELECT last_step, last_value FROM metric_rollups"
                + " WHERE experiment_id = ? AND metric_key = ? AND width_log2 = ? ORDER BY bucket DESC LIMIT 1) l")) {
            for (int i = 0; i < 2; i++) {
                ps.setString(1 + 3 * i, experimentId);
                ps.setString(2 + 3 * i, key);
                ps.setInt(3 + 3 * i, TOP);
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    long step = rs.getLong(1);
                    double v = rs.getDouble(2);
                    if (out.isEmpty() || out.get(0).step() > step) {
                        out.add(0, new MetricPoint(key, step, rs.wasNull() ? Double.NaN : v, null));
                    }
                }
                if (rs.next()) {
                    long step = rs.getLong(1);
                    double v = rs.getDouble(2);
                    if (out.get(out.size() - 1).step() < step) {
                        out.add(new MetricPoint(key, step, rs.wasNull() ? Double.NaN : v, null));
                    }
                }
            }
        }
        return out;
    }

    static void clear(Connection c, String experimentId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM metric_rollups WHERE experiment_id = ?")) {
            ps.setString(1, experimentId);
            ps.executeUpdate();
        }
    }

    static Map<SeriesKey, List<MetricPoint>> bySeries(String experimentId, Collection<MetricPoint> points) {
        Map<SeriesKey, List<MetricPoint>> out = new LinkedHashMap<>();
        for (MetricPoint p : points) {
            out.computeIfAbsent(new SeriesKey(experimentId, p.key()), k -> new ArrayList<>()).add(p);
        }
        return out;
    }
}
