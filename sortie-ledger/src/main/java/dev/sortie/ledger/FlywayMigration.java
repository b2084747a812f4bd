package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/** Runs the Flyway migrations under {@code db/migration} against one database file. */
final class FlywayMigration {
    static final String LOCATION = "classpath:db/migration";

    private FlywayMigration() {
    }

    static void migrate(LedgerDatabase db) {
        Path file = db.file();
        try {
            Flyway.configure(FlywayMigration.class.getClassLoader())
                    .dataSource(db.dataSource())
                    .locations(LOCATION)
                    .table(SchemaMigrator.HISTORY_TABLE)
                    .failOnMissingLocations(true)
                    .load()
                    .migrate();
        } catch (FlywayException e) {
            throw new LedgerException("cannot bring the schema of the ledger at " + file + " up to date: " + e.getMessage(), e);
        }
    }
}
