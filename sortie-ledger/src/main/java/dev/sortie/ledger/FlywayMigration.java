package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * Runs the Flyway migrations against one database: those under {@code db/migration}, which every database runs, and
 * those under {@code db/vendor/<database>} ({@code sqlite}, {@code postgresql}) for the few statements that must be
 * written differently on each; a version number is used once across all of them.
 */
final class FlywayMigration {
    static final String LOCATION = "classpath:db/migration";
    /** Followed by the database's folder ({@link SqlDialect#folder()}). */
    static final String VENDOR_LOCATION = "classpath:db/vendor/";

    private FlywayMigration() {
    }

    static void migrate(Database db) {
        String where = db.where();
        try {
            Flyway.configure(FlywayMigration.class.getClassLoader())
                    .dataSource(db.dataSource())
                    .locations(LOCATION, VENDOR_LOCATION + db.dialect().folder())
                    .table(SchemaMigrator.HISTORY_TABLE)
                    // the migrations that are Java code (V8 fills the rollups from the points already recorded)
                    .javaMigrations(new V8__Metric_rollups(), new V9__Column_names())
                    .failOnMissingLocations(true)
                    .load()
                    .migrate();
        } catch (FlywayException e) {
            throw new LedgerException("cannot bring the schema of the ledger at " + where + " up to date: " + e.getMessage(), e);
        }
    }
}
