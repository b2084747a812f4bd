package dev.sortie.server;

import dev.sortie.core.ledger.LedgerException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * The server's own tables (its tokens), in the ledger's database but under a Flyway history of their own
 * ({@code db/server}, table {@code flyway_server_history}): the ledger's migrations stay the ledger's (the CLI
 * never creates server tables in a project's .sortie/), and the server's number from 1 without taking numbers
 * from the ledger's sequence, which other work extends at the same time.
 */
public final class ServerDatabase {
    static final String LOCATION = "classpath:db/server";
    static final String HISTORY_TABLE = "flyway_server_history";
    private final DataSource dataSource;
    private final String where;

    private ServerDatabase(DataSource dataSource, String where) {
        this.dataSource = dataSource;
        this.where = where;
    }

    /** Opens the server's tables in the database {@code location} names, bringing them up to date. */
    public static ServerDatabase open(LedgerLocation location) {
        // The ledger's schema first: its Flyway refuses a database with tables it does not know and no history of its own.
        location.open().close();
        ServerDatabase db = new ServerDatabase(location.dataSource(), location.describe());
        try {
            Flyway.configure(ServerDatabase.class.getClassLoader())
                    .dataSource(db.dataSource)
                    .locations(LOCATION)
                    .table(HISTORY_TABLE)
                    .baselineOnMigrate(true)
                    .baselineVersion("0")
                    .failOnMissingLocations(true)
                    .load()
                    .migrate();
        } catch (FlywayException e) {
            throw new LedgerException("cannot bring the server's tables in " + db.where + " up to date: " + e.getMessage(), e);
        }
        return db;
    }

    Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    String where() {
        return where;
    }
}
