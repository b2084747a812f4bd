package dev.sortie.ledger;

import java.sql.Connection;
import java.sql.Statement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * V9 (a Java migration, named as Flyway reads versions): the table {@code column_names} of {@link ColumnNamesTable},
 * the param keys and DVC stages of the table kept with the rows, filled from the experiments already recorded (one
 * read in creation order).
 */
final class V9__Column_names extends BaseJavaMigration {
    private static final System.Logger LOG = System.getLogger(V9__Column_names.class.getName());

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        try (Statement s = c.createStatement()) {
            s.execute(ColumnNamesTable.TABLE);
        }
        long started = System.nanoTime();
        int names = new ColumnNamesTable(new JsonColumns()).fillAll(c);
        if (names > 0) { // a new ledger has nothing to fill, and a command that does nothing leaves no log file
            LOG.log(System.Logger.Level.INFO, "listed {0} param and stage names of the experiments in {1} ms", names,
                    (System.nanoTime() - started) / 1_000_000);
        }
    }
}
