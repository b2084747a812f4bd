package dev.sortie.ledger;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link AttemptsTableTest} on PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class PostgresAttemptsTableTest extends AttemptsTableTest {
    static PostgresServer pg;

    @Override
    JdbcLedger openLedger() throws Exception {
        return PostgresLedger.open(pg.newDatabase(), Map.of("PGPASSWORD", pg.password()), Path.of("/nonexistent"));
    }
}
