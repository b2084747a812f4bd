package dev.sortie.ledger;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** The ledger's contract on PostgreSQL (the test run's server, {@link PostgresExtension}), a new database per test. */
@ExtendWith(PostgresExtension.class)
class PostgresLedgerTest extends LedgerContractTest {
    static PostgresServer pg;
    private PostgresUrl url;

    @Override
    JdbcLedger openLedger() throws Exception {
        url = pg.newDatabase();
        return openAgain();
    }

    @Override
    JdbcLedger openAgain() {
        return PostgresLedger.open(url, Map.of("PGPASSWORD", pg.password()), Path.of("/nonexistent"));
    }
}
