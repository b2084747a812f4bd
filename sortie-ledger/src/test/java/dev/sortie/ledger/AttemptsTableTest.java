package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each ended attempt keeps its own record when the next attempt of the experiment takes the experiments row. On
 * SQLite here, on PostgreSQL in {@link PostgresAttemptsTableTest}.
 */
class AttemptsTableTest {
    @TempDir
    Path dir;

    JdbcLedger openLedger() throws Exception {
        return SqliteLedger.open(dir.resolve("ledger.db"));
    }

    @Test
    void anAttemptAMachineLossEndedStaysListedBesideTheAttemptThatContinuedIt() throws Exception {
        try (JdbcLedger ledger = openLedger()) {
            Experiment e = queued("abcd", "train-1");
            ledger.insert(e);
            Experiment first = e.started(T0.plusSeconds(1), new RunLocator("aws", "root@127.0.0.9:22", "pid=1"));
            assertThat(ledger.update(first, ExperimentStatus.QUEUED)).isTrue();
            assertThat(ledger.attempts(e.id())).as("nothing while it runs").isEmpty();
            Experiment preempted = first.ended(ExperimentStatus.INTERRUPTED, T0.plusSeconds(10), 143, "preempted: spot interruption notice");
            assertThat(ledger.update(preempted, ExperimentStatus.RUNNING)).isTrue();
            Experiment second = preempted.nextAttempt(ExperimentStatus.RUNNING).started(T0.plusSeconds(12),
                    new RunLocator("aws", "root@127.0.0.10:22", "pid=2"));
            assertThat(ledger.update(second, ExperimentStatus.INTERRUPTED)).isTrue();
            assertThat(ledger.update(second.ended(ExperimentStatus.SUCCEEDED, T0.plusSeconds(30), 0, null), ExperimentStatus.RUNNING)).isTrue();

            List<AttemptRecord> attempts = ledger.attempts(e.id());
            assertThat(attempts).containsExactly(
                    new AttemptRecord(1, ExperimentStatus.INTERRUPTED, "root@127.0.0.9:22", T0.plusSeconds(1), T0.plusSeconds(10), 143,
                            "preempted: spot interruption notice"),
                    new AttemptRecord(2, ExperimentStatus.SUCCEEDED, "root@127.0.0.10:22", T0.plusSeconds(12), T0.plusSeconds(30), 0, null));
            assertThat(ledger.find(e.id()).orElseThrow().attempt()).as("one row: the experiment, at its last attempt").isEqualTo(2);

            ledger.delete(e.id());
            assertThat(ledger.attempts(e.id())).isEmpty();
        }
    }
}
