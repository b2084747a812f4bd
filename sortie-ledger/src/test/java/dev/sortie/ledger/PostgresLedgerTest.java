package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;

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
