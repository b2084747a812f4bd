package dev.sortie.ledger;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;

/** {@link PagesAtScaleTest} on a SQLite file: its plan (EXPLAIN QUERY PLAN) never sorts nor reads the bare table. */
class SqlitePagesAtScaleTest extends PagesAtScaleTest {
    @TempDir
    Path dir;

    @Override
    JdbcLedger openLedger() {
        return SqliteLedger.open(dir.resolve("ledger.db"));
    }

    @Override
    void afterLoad(JdbcLedger ledger) {
        // SQLite plans these from the indexes alone
    }

    /** "USE TEMP B-TREE FOR ORDER BY": every matching row sorted. */
    @Override
    List<String> sorts(List<String> plan) {
        return plan.stream().filter(line -> line.contains("TEMP B-TREE")).toList();
    }

    /** "SCAN experiments" alone: the whole table in rowid order (a scan "USING INDEX" reads in the index's order and stops after the page). */
    @Override
    List<String> tableScans(List<String> plan) {
        return plan.stream().filter(line -> line.strip().equals("SCAN experiments")).toList();
    }
}
