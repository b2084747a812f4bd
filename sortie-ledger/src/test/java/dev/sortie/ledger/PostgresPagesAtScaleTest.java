package dev.sortie.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link PagesAtScaleTest} on PostgreSQL: its plan (EXPLAIN) has no Sort node and no sequential scan. */
@ExtendWith(PostgresExtension.class)
class PostgresPagesAtScaleTest extends PagesAtScaleTest {
    static PostgresServer pg;
    private PostgresUrl url;

    @Override
    JdbcLedger openLedger() throws Exception {
        url = pg.newDatabase();
        return PostgresLedger.open(url, Map.of("PGPASSWORD", pg.password()), Path.of("/nonexistent"));
    }

    /** What autovacuum does on its own a little after a bulk load; done at once so the test does not wait for it. */
    @Override
    void afterLoad(JdbcLedger ledger) throws Exception {
        try (Connection c = pg.connect(url.database()); Statement s = c.createStatement()) {
            s.execute("ANALYZE experiments");
        }
    }

    /** "Sort", "Incremental Sort": rows sorted after they are read. */
    @Override
    List<String> sorts(List<String> plan) {
        return plan.stream().filter(line -> line.contains("Sort")).toList();
    }

    /** "Seq Scan": the whole table read. */
    @Override
    List<String> tableScans(List<String> plan) {
        return plan.stream().filter(line -> line.contains("Seq Scan")).toList();
    }
}
