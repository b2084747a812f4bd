package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The schema on PostgreSQL: migrated once by many openers at once, and a database at an older version brought up to date. */
@ExtendWith(PostgresExtension.class)
class PostgresSchemaMigrationTest {
    static PostgresServer pg;

    private static PostgresLedger open(PostgresUrl url) {
        return PostgresLedger.open(url, Map.of("PGPASSWORD", pg.password()), Path.of("/nonexistent"));
    }

    /** No lock file here: Flyway's own lock on the database keeps the openers from migrating it twice. */
    @Test
    void processesOpeningAFreshDatabaseAtOnceMigrateItOnce() throws Exception {
        PostgresUrl url = pg.newDatabase();
        int openers = 6;
        CyclicBarrier start = new CyclicBarrier(openers);
        ExecutorService pool = Executors.newFixedThreadPool(openers);
        List<PostgresLedger> opened = new ArrayList<>();
        try {
            List<Callable<PostgresLedger>> tasks = new ArrayList<>();
            for (int i = 0; i < openers; i++) {
                tasks.add(() -> {
                    start.await();
                    return open(url);
                });
            }
            for (Future<PostgresLedger> f : pool.invokeAll(tasks)) {
                opened.add(f.get());
            }
            for (int i = 0; i < opened.size(); i++) {
                opened.get(i).insert(queued("exp-" + i, "name-" + i));
            }
            assertThat(opened.get(0).count()).isEqualTo(openers);
        } finally {
            opened.forEach(PostgresLedger::close);
            pool.shutdownNow();
        }
        assertThat(history(url)).containsExactly("1:true", "2:true", "3:true", "4:true", "6:true", "7:true", "8:true", "9:true");
    }

    /** A database the previous release made (V1..V4, no vendor migrations) keeps its rows and gains the V6 indexes. */
    @Test
    void aDatabaseOfThePreviousReleaseIsBroughtUpToDateWithItsRows() throws Exception {
        PostgresUrl url = pg.newDatabase();
        PostgresDatabase raw = PostgresDatabase.open(url, pg.password());
        try {
            Flyway.configure(SchemaMigrator.class.getClassLoader()).dataSource(raw.dataSource()).locations(FlywayMigration.LOCATION)
                    .table(SchemaMigrator.HISTORY_TABLE).target("4").load().migrate();
        } finally {
            raw.close();
        }
        try (Connection c = pg.connect(url.database()); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO experiments (id, seq, name, status, executor, command, params, created_at, started_at, attempt,"
                    + " handle_host, locator_type, locator_value) VALUES ('old-1', 1, 'old', 'running', 'local', '{\"shell\": \"true\"}',"
                    + " '{}', 1700000000000, 1700000000100, 1, 'laptop', 'local', 'supervisor=1;pid=2')");
        }
        assertThat(history(url)).containsExactly("1:true", "2:true", "3:true", "4:true");

        try (PostgresLedger ledger = open(url)) {
            assertThat(ledger.find("old").orElseThrow().handle()).isEqualTo(new RunLocator("local", "laptop", "supervisor=1;pid=2"));
            assertThat(ledger.claimNext("local", new RunLocator("local", "w", "pid=1"), java.time.Instant.now())).isEmpty();
            assertThat(ledger.countByStatus(ExperimentStatus.RUNNING)).isEqualTo(1);
        }
        assertThat(history(url)).containsExactly("1:true", "2:true", "3:true", "4:true", "6:true", "7:true", "8:true", "9:true");
        try (Connection c = pg.connect(url.database()); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT indexname FROM pg_indexes WHERE tablename = 'experiments' ORDER BY indexname")) {
            List<String> indexes = new ArrayList<>();
            while (rs.next()) {
                indexes.add(rs.getString(1));
            }
            assertThat(indexes).contains("experiments_name_order", "experiments_started_order", "experiments_status_order")
                    .doesNotContain("experiments_status");
        }
    }

    private static List<String> history(PostgresUrl url) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(url.database()); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT version || ':' || success FROM " + SchemaMigrator.HISTORY_TABLE + " ORDER BY installed_rank")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
