package dev.sortie.ledger;

import java.sql.Connection;
import java.sql.Statement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * V8 (a Java migration, named as Flyway reads versions): the table {@code metric_rollups} of {@link MetricRollups},
 * downsampled copies of every metric series kept in the same transaction as its points, filled from the points already
 * recorded (one read of {@code metric_points} in key order). For bucket widths of 2^width_log2 steps (4, 6, ... 14),
 * each bucket ({@code step >> width_log2}) keeps its number of points and its first, lowest, highest and last point;
 * the lowest and highest values are null when every value of the bucket is NaN (their steps then the first's).
 */
final class V8__Metric_rollups extends BaseJavaMigration {
    private static final System.Logger LOG = System.getLogger(V8__Metric_rollups.class.getName());
    static final String TABLE = "CREATE TABLE metric_rollups ("
            + " experiment_id TEXT    NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,"
            + " metric_key    TEXT    NOT NULL,"
            + " width_log2    INTEGER NOT NULL,"
            + " bucket        BIGINT  NOT NULL,"
            + " points        BIGINT  NOT NULL,"
            + " first_step    BIGINT  NOT NULL,"
            + " first_value   DOUBLE PRECISION,"
            + " last_step     BIGINT  NOT NULL,"
            + " last_value    DOUBLE PRECISION,"
            + " min_step      BIGINT  NOT NULL,"
            + " min_value     DOUBLE PRECISION,"
            + " max_step      BIGINT  NOT NULL,"
            + " max_value     DOUBLE PRECISION,"
            + " PRIMARY KEY (experiment_id, metric_key, width_log2, bucket)"
            + " )";

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        // SQLite: rows stored in key order (no rowid), so a series' buckets of one level are read as one run of rows
        boolean sqlite = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("sqlite");
        try (Statement s = c.createStatement()) {
            s.execute(TABLE + (sqlite ? " WITHOUT ROWID" : ""));
        }
        long started = System.nanoTime();
        long series = MetricRollups.fillAll(c);
        if (series > 0) { // a new ledger has nothing to fill, and a command that does nothing leaves no log file
            LOG.log(System.Logger.Level.INFO, "filled the rollups of {0} metric series in {1} ms", series, (System.nanoTime() - started) / 1_000_000);
        }
    }
}
