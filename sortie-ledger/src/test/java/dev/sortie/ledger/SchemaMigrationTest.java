package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.ledger.LedgerException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaMigrationTest {
    @TempDir
    Path dir;

    @Test
    void openCreatesFoldersSchemaAndWal() throws Exception {
        Path file = dir.resolve("deep/er/.sortie/ledger.db");

        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            ledger.insert(queued("abcd", "first"));
        }

        assertThat(file).exists();
        assertThat(query(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
                .contains("artifacts", "control", "experiments", "flyway_schema_history", "metric_points", "metrics");
        assertThat(query(file, "PRAGMA journal_mode")).containsExactly("wal");
        assertThat(query(file, "SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank"))
                .containsExactly("1", "2");
    }

    @Test
    void aCurrentSchemaIsNotMigratedAgain() throws Exception {
        Path file = dir.resolve("ledger.db");
        SqliteLedger.open(file).close();
        Path lockFile = dir.resolve("ledger.db.lock");
        assertThat(lockFile).as("the first open migrated under the lock").exists();
        Files.delete(lockFile);

        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            ledger.insert(queued("abcd", "first"));
        }

        assertThat(lockFile).as("the fast path takes neither the lock nor Flyway").doesNotExist();
        assertThat(query(file, "SELECT COUNT(*) FROM flyway_schema_history")).containsExactly("2");
    }

    @Test
    void threadsOpeningAFreshLedgerAtOnceMigrateItOnce() throws Exception {
        Path file = dir.resolve("fresh/ledger.db");
        int threads = 6;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<SqliteLedger> opened = new ArrayList<>();
        try {
            List<Callable<SqliteLedger>> openers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                openers.add(() -> {
                    start.await();
                    return SqliteLedger.open(file);
                });
            }
            for (Future<SqliteLedger> f : pool.invokeAll(openers)) {
                opened.add(f.get());
            }
            for (int i = 0; i < opened.size(); i++) {
                opened.get(i).insert(queued("exp-" + i, "name-" + i));
            }
            assertThat(opened.get(0).list()).hasSize(threads);
        } finally {
            opened.forEach(SqliteLedger::close);
            pool.shutdownNow();
        }
        assertThat(SchemaMigrationTestSupport.historyRows(file)).containsExactly("1:1", "2:1");
    }

    @Test
    void aFileThatIsNotALedgerFailsClearly() throws Exception {
        Path file = dir.resolve("ledger.db");
        Files.writeString(file, "this is not a database, but it is long enough to look like one's header....");

        assertThatThrownBy(() -> SqliteLedger.open(file))
                .isInstanceOf(LedgerException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void currentVersionIsTheHighestMigration() throws Exception {
        assertThat(migrations().stream().mapToInt(SchemaMigrationTest::version).max().orElse(0))
                .isEqualTo(SchemaMigrator.CURRENT_VERSION);
    }

    /** The schema must also run on PostgreSQL: keep SQLite-only syntax out of the migrations. */
    @Test
    void migrationsAvoidSqliteOnlySyntax() throws Exception {
        for (Path migration : migrations()) {
            String sql = Files.readString(migration, StandardCharsets.UTF_8).toUpperCase(Locale.ROOT)
                    .replaceAll("--[^\n]*", "");
            assertThat(sql).as(migration.getFileName().toString())
                    .doesNotContain("AUTOINCREMENT", "WITHOUT ROWID", "INSERT OR ", "REPLACE INTO", "PRAGMA", "STRICT",
                            " REAL", " BLOB", "DATETIME", "IF NOT EXISTS");
        }
    }

    private static List<Path> migrations() throws IOException, URISyntaxException {
        URL location = SchemaMigrator.class.getClassLoader().getResource("db/migration");
        assertThat(location).isNotNull();
        try (Stream<Path> files = Files.list(Path.of(location.toURI()))) {
            return files.filter(p -> p.getFileName().toString().matches("V\\d+__.+\\.sql")).toList();
        }
    }

    private static int version(Path migration) {
        Matcher m = Pattern.compile("V(\\d+)__").matcher(migration.getFileName().toString());
        assertThat(m.lookingAt()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static List<String> query(Path file, String sql) throws SQLException {
        return SchemaMigrationTestSupport.query(file, sql);
    }
}
