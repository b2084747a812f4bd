package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunLocator;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
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

    /**
     * A connection the server dropped (a restart, an idle timeout, here pg_terminate_backend) is opened again: a read
     * runs again on the new one; a write, which may have been committed before the connection went, fails saying so,
     * and the next one connects again.
     */
    @Test
    void aDroppedConnectionIsOpenedAgainAndOnlyAReadIsRunAgain() throws Exception {
        ledger.insert(queued("c-1", "before"));
        terminateTheLedgersConnections();
        assertThat(ledger.find("c-1")).as("a read, run again on a new connection").isPresent();

        terminateTheLedgersConnections();
        assertThatThrownBy(() -> ledger.insert(queued("c-2", "during")))
                .isInstanceOf(LedgerException.class)
                .hasMessageContaining("cannot add experiment c-2: the connection to the ledger at " + url.redacted() + " was lost");
        ledger.insert(queued("c-3", "after"));
        assertThat(ledger.list()).extracting(Experiment::id).containsExactly("c-1", "c-3");
    }

    private void terminateTheLedgersConnections() throws Exception {
        try (Connection admin = pg.connect(url.database()); java.sql.Statement s = admin.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        + " WHERE datname = current_database() AND application_name = 'sortie' AND pid <> pg_backend_pid()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }

    /**
     * A worker's claim passes over the row another worker's claim holds (FOR UPDATE SKIP LOCKED) and takes the next,
     * at once; without SKIP LOCKED it would wait for the other transaction to end.
     */
    @Test
    void aClaimSkipsTheRowAnotherWorkersClaimHoldsInsteadOfWaitingForIt() throws Exception {
        ledger.insertAll(List.of(queued("s-1", "held", T0), queued("s-2", "free", T0.plusSeconds(1))));
        try (Connection other = pg.connect(url.database())) {
            other.setAutoCommit(false);
            try (PreparedStatement ps = other.prepareStatement("SELECT id FROM experiments WHERE id = 's-1' FOR UPDATE");
                    ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
            }
            CompletableFuture<Optional<Experiment>> claim = CompletableFuture.supplyAsync(
                    () -> ledger.claimNext("local", new RunLocator("local", "w", "pid=1"), T0.plusSeconds(5)));
            try {
                assertThat(claim.get(20, TimeUnit.SECONDS)).map(Experiment::id).as("the next one, not the held one").contains("s-2");
            } finally {
                other.rollback(); // lets a claim that waited (the failure) end
            }
        }
        assertThat(ledger.claimNext("local", new RunLocator("local", "w", "pid=1"), T0.plusSeconds(6))).map(Experiment::id).contains("s-1");
    }
}
