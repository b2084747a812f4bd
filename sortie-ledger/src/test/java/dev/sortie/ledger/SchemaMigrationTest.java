package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
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
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

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
                .contains("artifacts", "attempts", "control", "experiments", "flyway_schema_history", "metric_points", "metrics");
        assertThat(query(file, "PRAGMA journal_mode")).containsExactly("wal");
        assertThat(query(file, "SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank"))
                .containsExactly("1", "2", "3", "4", "6", "7", "8", "9");
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
        assertThat(query(file, "SELECT COUNT(*) FROM flyway_schema_history")).containsExactly("8");
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
        assertThat(SchemaMigrationTestSupport.historyRows(file)).containsExactly("1:1", "2:1", "3:1", "4:1", "6:1", "7:1", "8:1", "9:1");
    }

    /**
     * A ledger the previous release made (its schema, V2, by its own migrations; rows as it wrote them, with pids
     * in the handle columns) opens with its runs located: a launcher's when no command had started, the pids it
     * recorded otherwise (which the local and ssh executors read as their own), shown with the host and pid it had.
     */
    @Test
    void rowsOfThePreviousReleaseKeepTheirRuns() throws Exception {
        Path file = dir.resolve("old/ledger.db");
        Files.createDirectories(file.getParent());
        SQLiteDataSource ds = new SQLiteDataSource();
        ds.setUrl("jdbc:sqlite:" + file);
        Flyway.configure(SchemaMigrator.class.getClassLoader()).dataSource(ds).locations(FlywayMigration.LOCATION)
                .table(SchemaMigrator.HISTORY_TABLE).target("2").load().migrate();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate(oldRow(1, "local-run", "'laptop', 4100, 1700000000123, 4101, 1700000000456"));
            st.executeUpdate(oldRow(2, "claimed", "'laptop', 4200, 1700000000789, 0, NULL"));
            st.executeUpdate(oldRow(3, "ssh-run", "'gpu-1', 77, NULL, 77, NULL"));
            st.executeUpdate(oldRow(4, "queued", "NULL, NULL, NULL, NULL, NULL"));
        }

        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            assertThat(ledger.find("local-run").orElseThrow().handle()).isEqualTo(new RunLocator(RunLocator.LEGACY, "laptop",
                    new ProcessLocation(4100, Instant.ofEpochMilli(1700000000123L), 4101, Instant.ofEpochMilli(1700000000456L)).value()));
            RunLocator claimed = ledger.find("claimed").orElseThrow().handle();
            assertThat(claimed).isEqualTo(RunLocator.launcher("laptop", 4200, Instant.ofEpochMilli(1700000000789L)));
            assertThat(ledger.find("claimed").orElseThrow().commandStarted()).isFalse();
            RunLocator ssh = ledger.find("ssh-run").orElseThrow().handle();
            assertThat(ProcessLocation.of(ssh, "ssh")).isEqualTo(new ProcessLocation(77, null, 77, null));
            assertThat(ledger.find("ssh-run").orElseThrow().commandStarted()).isTrue();
            assertThat(ledger.find("queued").orElseThrow().handle()).isNull();

            ExecutorRegistry executors = new ExecutorRegistry(new ExecutorContext(dir, dir, null), List.of());
            assertThat(executors.describe(ledger.find("local-run").orElseThrow().handle()))
                    .isEqualTo(new LocatorDescription("laptop", 4101));
            assertThat(executors.describe(claimed)).isEqualTo(new LocatorDescription("laptop", 0));
        }

        // A process of the previous release still running on the migrated ledger writes its rows the old way.
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate(oldRow(5, "late-run", "'laptop', 4300, NULL, 4301, NULL"));
        }
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            assertThat(ProcessLocation.of(ledger.find("late-run").orElseThrow().handle(), "local"))
                    .isEqualTo(new ProcessLocation(4300, null, 4301, null));
        }
    }

    /** An experiments row as the previous release inserted it, with the given handle columns. */
    private static String oldRow(int seq, String name, String handle) {
        String status = handle.startsWith("NULL") ? "queued" : "running";
        return "INSERT INTO experiments (id, seq, name, status, executor, command, params, task, created_at, started_at,"
                + " attempt, handle_host, handle_supervisor_pid, handle_supervisor_start, handle_pid, handle_process_start)"
                + " VALUES ('" + name + "', " + seq + ", '" + name + "', '" + status + "', 'local', '{\"shell\": \"true\"}',"
                + " '{}', NULL, 1700000000000, 1700000000100, 1, " + handle + ")";
    }

    /** A ledger of V7 (points, no rollups) gets its rollups filled by V8 from the points it has. */
    @Test
    void v8FillsTheRollupsOfTheSeriesAlreadyRecorded() throws Exception {
        Path file = dir.resolve("v7/ledger.db");
        java.util.List<dev.sortie.core.model.MetricPoint> points = new ArrayList<>();
        for (int step = 0; step < 5000; step++) {
            points.add(new dev.sortie.core.model.MetricPoint("loss", step, step == 1234 ? 99 : step % 7, TestExperiments.T0));
        }
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            ledger.insert(queued("abcd", "first"));
            ledger.recordMetrics("abcd", points);
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
                java.sql.Statement s = c.createStatement()) {
            s.execute("DROP TABLE metric_rollups");
            s.execute("DROP TABLE column_names");
            s.execute("DELETE FROM flyway_schema_history WHERE version IN ('8', '9')");
        }
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            assertThat(ledger.seriesSpan("abcd", "loss")).contains(new dev.sortie.core.model.SeriesSpan(5000, 0, 4999));
            java.util.List<dev.sortie.core.model.MetricPoint> extremes = ledger.seriesExtremes("abcd", "loss", 1024);
            assertThat(extremes).hasSizeLessThan(30).anyMatch(p -> p.step() == 1234 && p.value() == 99);
            assertThat(extremes).extracting(dev.sortie.core.model.MetricPoint::step).contains(0L, 4999L).isSorted();
        }
        assertThat(SchemaMigrationTestSupport.historyRows(file)).contains("8:1");
    }

    /** A ledger of V8 (no names table) gets its param and stage names listed by V9 from the experiments it has. */
    @Test
    void v9ListsTheNamesOfTheExperimentsAlreadyRecorded() throws Exception {
        Path file = dir.resolve("v8/ledger.db");
        dev.sortie.core.ledger.TableColumns before;
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            for (int i = 0; i < 5; i++) {
                java.util.Map<String, Object> params = new java.util.LinkedHashMap<>();
                params.put("k" + (4 - i), i);
                params.put("train", java.util.Map.of("lr", 0.1));
                ledger.insert(new dev.sortie.core.model.Experiment("e-" + i, "n-" + i, dev.sortie.core.model.ExperimentStatus.QUEUED, "local",
                        dev.sortie.core.model.CommandSpec.shell("x"), dev.sortie.core.params.Params.of(params), null,
                        i == 3 ? "{\"stage\":\"train\"}" : null, TestExperiments.T0.minusSeconds(i % 3), null, null, null, null, 1, null));
            }
            ledger.recordMetrics("e-1", java.util.List.of(new dev.sortie.core.model.MetricPoint("loss", 1, 0.5, TestExperiments.T0)));
            before = ledger.columns();
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
                java.sql.Statement s = c.createStatement()) {
            s.execute("DROP TABLE column_names");
            s.execute("DELETE FROM flyway_schema_history WHERE version = '9'");
        }
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            assertThat(ledger.columns()).isEqualTo(before).isEqualTo(dev.sortie.core.ledger.TableColumns.of(ledger.views()));
            assertThat(ledger.columns().params()).containsExactly("k2", "train.lr", "k3", "k0", "k4", "k1");
            assertThat(ledger.columns().stages()).isTrue();
        }
        assertThat(SchemaMigrationTestSupport.historyRows(file)).contains("9:1");
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
        List<Path> all = new ArrayList<>(migrations("db/migration"));
        all.addAll(migrations("db/vendor/sqlite"));
        all.addAll(migrations("db/vendor/postgresql"));
        // V8 is Java code (it fills the rollups), named as Flyway reads versions
        all.add(Path.of(V8__Metric_rollups.class.getSimpleName()));
        all.add(Path.of(V9__Column_names.class.getSimpleName()));
        assertThat(all.stream().mapToInt(SchemaMigrationTest::version).max().orElse(0))
                .isEqualTo(SchemaMigrator.CURRENT_VERSION);
    }

    /** Each database's own migrations have the same versions, so both end at the same schema version. */
    @Test
    void everyDatabaseHasItsOwnFileOfEachVendorVersionAndNoneIsShared() throws Exception {
        List<Integer> sqlite = migrations("db/vendor/sqlite").stream().map(SchemaMigrationTest::version).sorted().toList();
        List<Integer> postgresql = migrations("db/vendor/postgresql").stream().map(SchemaMigrationTest::version).sorted().toList();
        assertThat(sqlite).isNotEmpty().isEqualTo(postgresql);
        assertThat(migrations("db/migration").stream().map(SchemaMigrationTest::version).toList()).doesNotContainAnyElementsOf(sqlite);
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

    /** The migrations every database runs; {@link #migrationsAvoidSqliteOnlySyntax} holds for them. */
    private static List<Path> migrations() throws IOException, URISyntaxException {
        return migrations("db/migration");
    }

    private static List<Path> migrations(String folder) throws IOException, URISyntaxException {
        URL location = SchemaMigrator.class.getClassLoader().getResource(folder);
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
