package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.model.Experiment;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the ledger does while another connection (standing in for another process) holds the write lock. */
class LockContentionTest {
    @TempDir
    Path dir;
    Path file;

    @BeforeEach
    void createLedger() {
        file = dir.resolve("ledger.db");
        SqliteLedger.open(file).close();
    }

    @Test
    void aWriterWaitsForAnotherOne() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(file); Connection other = lockForWriting()) {
            CompletableFuture<Void> release = releaseLater(other, 400);
            long start = System.nanoTime();

            ledger.insert(queued("w-1", "waited"));

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            release.get();
            assertThat(ledger.find("w-1")).isPresent();
        }
    }

    @Test
    void aWriteIsRetriedWhenTheBusyTimeoutRunsOut() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(file, Duration.ofMillis(50)); Connection other = lockForWriting()) {
            CompletableFuture<Void> release = releaseLater(other, 400);

            ledger.insert(queued("r-1", "retried"));

            release.get();
            assertThat(ledger.find("r-1")).isPresent();
        }
    }

    @Test
    void aLockThatIsNeverReleasedGivesAClearError() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(file, Duration.ofMillis(20)); Connection other = lockForWriting()) {
            assertThatThrownBy(() -> ledger.insert(queued("s-1", "stuck")))
                    .isInstanceOf(LedgerException.class)
                    .hasMessageContaining("cannot add experiment s-1")
                    .hasMessageContaining("stayed locked by another process")
                    .satisfies(e -> assertThat(((LedgerException) e).isConflict()).isFalse());
            other.rollback();
        }
    }

    @Test
    void readersDoNotWaitForAWriter() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(file, Duration.ofMillis(20))) {
            ledger.insert(queued("c-1", "committed"));
            try (Connection other = lockForWriting()) {
                try (Statement s = other.createStatement()) {
                    s.executeUpdate("UPDATE experiments SET name = 'uncommitted' WHERE id = 'c-1'");
                }

                assertThat(ledger.list()).extracting(Experiment::name).containsExactly("committed");
                assertThat(ledger.views()).hasSize(1);
                other.rollback();
            }
        }
    }

    /** Another connection holding SQLite's write lock, as a busy {@code sortie run} would between statements. */
    private Connection lockForWriting() throws SQLException {
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            // sqlite-jdbc has begun a deferred transaction; a write takes the lock for real
            s.executeUpdate("UPDATE experiments SET attempt = attempt WHERE 1 = 0");
            s.executeUpdate("DELETE FROM metrics WHERE experiment_id = 'no such experiment'");
        }
        return c;
    }

    private static CompletableFuture<Void> releaseLater(Connection c, long millis) {
        return CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(millis);
                c.rollback();
            } catch (InterruptedException | SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
