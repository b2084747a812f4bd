package dev.sortie.ledger;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The ledger's contract on a SQLite file. */
class SqliteLedgerTest extends LedgerContractTest {
    @TempDir
    Path dir;

    @Override
    JdbcLedger openLedger() {
        return SqliteLedger.open(dir.resolve("ledger.db"));
    }

    @Override
    JdbcLedger openAgain() {
        return SqliteLedger.open(dir.resolve("ledger.db"));
    }
}
