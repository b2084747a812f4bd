package dev.sortie.ledger;

import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;

/**
 * Brings a ledger's schema up to date, cheaply when it already is.
 *
 * <p>Starting Flyway (class loading, scanning the classpath for migrations, validating checksums) costs far more
 * than a short-lived {@code sortie show} should spend, so the applied version is read from Flyway's history
 * table with one query and Flyway only runs when the schema is behind. The migration itself runs under
 * {@link MigrationLock}, and the version is checked again once the lock is held: whoever waited finds the work
 * done.
 */
final class SchemaMigrator {
    private static final System.Logger LOG = System.getLogger(SchemaMigrator.class.getName());
    /** The highest {@code V<n>__*.sql} under {@code db/migration} and {@code db/vendor/*}, or of FlywayMigration's Java migrations; raise it with every new migration. */
    static final int CURRENT_VERSION = 9;
    static final String HISTORY_TABLE = "flyway_schema_history";
    private static final Duration LOCK_TIMEOUT = Duration.ofMinutes(2);

    private SchemaMigrator() {
    }

    static void bringUpToDate(Database db) {
        if (appliedVersion(db) >= CURRENT_VERSION) {
            return;
        }
        AutoCloseable lock = db.lockForMigration(LOCK_TIMEOUT);
        try {
            if (appliedVersion(db) >= CURRENT_VERSION) {
                return;
            }
            // In its own class so that Flyway is not even loaded when the schema is current.
            FlywayMigration.migrate(db);
        } finally {
            try {
                lock.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, "the migration lock of {0} did not close: {1}", db.where(), e);
            }
        }
    }

    /**
     * The highest successfully applied major version, 0 for a database without the history table. A schema newer
     * than this code (written by a later Sortie) counts as current: migrations only add.
     */
    static int appliedVersion(Database db) {
        return db.read("read the schema version of the ledger at " + db.where(), c -> {
            DatabaseMetaData meta = c.getMetaData();
            // PostgreSQL: the schema the ledger's tables are created in (the first of its search_path), not another
            // schema's history table of the same name
            try (ResultSet tables = meta.getTables(null, c.getSchema(), HISTORY_TABLE, new String[] {"TABLE"})) {
                if (!tables.next()) {
                    return 0;
                }
            }
            int highest = 0;
            // "WHERE success" reads the same on SQLite (0/1) and PostgreSQL (boolean).
            try (PreparedStatement ps = c.prepareStatement("SELECT version FROM " + HISTORY_TABLE + " WHERE success");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    highest = Math.max(highest, major(rs.getString(1)));
                }
            }
            return highest;
        });
    }

    /** "3" and "3.1" are 3; repeatable migrations (no version) and odd versions count as 0. */
    private static int major(String version) {
        if (version == null) {
            return 0;
        }
        int dot = version.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? version : version.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
