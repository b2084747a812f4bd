package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.points;
import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several JVMs on one ledger file at once: two {@link LedgerHammer} processes record metrics and flip their
 * experiment's status while this process adds experiments and reads the table, all starting on a file that does
 * not exist yet. Nothing may fail with "database is locked", and nothing may be lost.
 */
@Tag("integration")
class MultiProcessLedgerTest {
    private static final int HAMMERS = 2;
    private static final int STEPS = 400;

    @TempDir
    Path dir;

    @Test
    void processesShareOneLedgerWithoutLockErrorsOrLoss() throws Exception {
        Path file = dir.resolve(".sortie/ledger.db");
        // Everyone opens the fresh file at the same moment, once the JVMs have had time to start.
        long openAt = System.currentTimeMillis() + 2_500;
        List<Process> hammers = new ArrayList<>();
        for (int h = 0; h < HAMMERS; h++) {
            hammers.add(new ProcessBuilder(javaBinary(), "-cp", System.getProperty("java.class.path"),
                    LedgerHammer.class.getName(), file.toString(), "hammer" + h, String.valueOf(STEPS), String.valueOf(openAt))
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("hammer" + h + ".log").toFile())
                    .start());
        }

        Thread.sleep(Math.max(0, openAt - System.currentTimeMillis()));
        List<String> mine = new ArrayList<>();
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            // Keep writing and reading for as long as the other processes do, and a little before they start.
            // Bounded: a hammer that hangs (a lock never granted) fails the test here, naming it, instead of
            // holding this loop until the JUnit timeout.
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            int i = 0;
            while (i < 20 || hammers.stream().anyMatch(Process::isAlive)) {
                if (System.nanoTime() > deadline) {
                    StringBuilder alive = new StringBuilder();
                    for (int h = 0; h < HAMMERS; h++) {
                        if (hammers.get(h).isAlive()) {
                            alive.append(String.format("%nhammer%d, its output so far:%n%s", h,
                                    Files.readString(dir.resolve("hammer" + h + ".log"))));
                        }
                    }
                    throw new AssertionError("hammers still running 3 minutes after they opened the ledger"
                            + " (this process added " + i + " experiments meanwhile):" + alive);
                }
                String id = String.format("main%05d", i);
                ledger.insert(queued(id, "main-" + i, Instant.now()));
                ledger.recordMetrics(id, points("loss", 3, 1.0));
                mine.add(id);
                List<ExperimentView> views = ledger.views();
                assertThat(views.size()).isGreaterThanOrEqualTo(mine.size());
                ledger.find(id).orElseThrow();
                i++;
            }
            for (int h = 0; h < HAMMERS; h++) {
                Process p = hammers.get(h);
                assertThat(p.waitFor(3, TimeUnit.MINUTES)).isTrue();
                String log = Files.readString(dir.resolve("hammer" + h + ".log"));
                assertThat(p.exitValue()).as("hammer %d exited with this output:%n%s", h, log).isZero();
            }

            for (String id : mine) {
                assertThat(ledger.find(id)).isPresent();
                assertThat(ledger.series(id, "loss")).hasSize(3);
            }
            assertThat(ledger.list()).hasSize(mine.size() + HAMMERS);
            for (int h = 0; h < HAMMERS; h++) {
                String id = "hammer" + h;
                Experiment e = ledger.find(id).orElseThrow();
                assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
                List<MetricPoint> loss = ledger.series(id, "loss");
                assertThat(loss).hasSize(STEPS);
                assertThat(loss.get(STEPS - 1).value()).isEqualTo(1.0 / STEPS);
                assertThat(ledger.series(id, "acc")).hasSize(STEPS);
                ExperimentView view = ledger.views().stream().filter(v -> v.experiment().id().equals(id)).findFirst().orElseThrow();
                assertThat(view.metrics()).containsEntry("loss", 1.0 / STEPS).containsEntry("acc", (STEPS - 1) / (double) STEPS);
            }
            System.out.printf("multi-process: this process added %d experiments while %d others recorded %d steps each%n",
                    mine.size(), HAMMERS, STEPS);
        } finally {
            hammers.forEach(Process::destroyForcibly);
        }
        assertThat(SchemaMigrationTestSupport.historyRows(file)).containsExactly("1:1", "2:1", "3:1", "4:1", "6:1", "7:1", "8:1", "9:1");
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString().replace('/', File.separatorChar));
    }
}
