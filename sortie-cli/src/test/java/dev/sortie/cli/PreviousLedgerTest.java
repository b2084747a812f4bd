package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.util.Hosts;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

/**
 * A ledger the previous release made (its schema by its own migrations, its rows with the pids of a run in five
 * handle columns) keeps working: its runs are shown with their host and pid, stopped, and collected when their
 * watcher died, through the locators the migration makes of those columns.
 */
@Tag("integration")
class PreviousLedgerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private Process command;

    @AfterEach
    void tearDown() {
        if (command != null) {
            command.destroyForcibly();
        }
    }

    @Test
    void runsRecordedByThePreviousReleaseAreShownStoppedAndCollected() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: demo\nrun: true\n").commit();
        assertThat(project.sortie("init").code()).isZero();
        Path ledgerFile = project.dir.resolve(".sortie/ledger.db");
        for (String suffix : List.of("", "-wal", "-shm")) {
            Files.deleteIfExists(Path.of(ledgerFile + suffix));
        }
        SQLiteDataSource ds = new SQLiteDataSource();
        ds.setUrl("jdbc:sqlite:" + ledgerFile);
        Flyway.configure(SqliteLedger.class.getClassLoader()).dataSource(ds).locations("classpath:db/migration")
                .table("flyway_schema_history").target("2").load().migrate();

        // A run the previous release's 'sortie run' (this JVM stands for it) watches; its command leads its group.
        command = new ProcessBuilder(ProcessGroups.inNewGroup(List.of("sleep", "600"))).start();
        long me = ProcessHandle.current().pid();
        Instant myStart = ProcessHandle.current().info().startInstant().orElseThrow();
        // One whose watcher was killed: its pid is gone.
        Process gone = new ProcessBuilder("true").start();
        assertThat(gone.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String host = Hosts.name();
        String adHoc = new TaskSource(null, "old", null, null, false, false).toJson();
        String queued = new TaskSource(null, "old", null, null, true, false).toJson();
        try (Connection c = ds.getConnection()) {
            insertOld(c, 1, "old-running", adHoc, host, me, myStart.toEpochMilli(), command.pid(), ProcessGroups.startTime(command.pid()).toEpochMilli());
            insertOld(c, 2, "old-orphan", adHoc, host, gone.pid(), null, gone.pid(), null);
            // claimed from the queue by a worker that died before the command started: pid 0
            insertOld(c, 3, "old-claimed", queued, host, gone.pid(), null, 0L, null);
        }
        Files.createDirectories(project.dir.resolve(".sortie/runs/old-orphan/logs"));
        Files.writeString(project.dir.resolve(".sortie/runs/old-orphan/logs/attempt-1.log"), "loss=0.25\n");

        TestProject.Result status = project.sortie("status", "--json");
        assertThat(status.code()).isZero();
        JsonNode running = null;
        for (JsonNode e : JSON.readTree(status.out()).get("experiments")) {
            if (e.get("name").asText().equals("old-running")) {
                running = e;
            }
        }
        assertThat(running).as("the run still going").isNotNull();
        assertThat(running.get("status").asText()).isEqualTo("running");
        assertThat(running.get("host").asText()).isEqualTo(host);
        assertThat(running.get("pid").asLong()).isEqualTo(command.pid());
        try (Ledger l = SqliteLedger.open(ledgerFile)) {
            Experiment orphan = l.find("old-orphan").orElseThrow();
            assertThat(orphan.status()).as("its watcher is gone").isEqualTo(ExperimentStatus.INTERRUPTED);
            assertThat(l.latestMetrics(orphan.id())).containsEntry("loss", 0.25);
            Experiment claimed = l.find("old-claimed").orElseThrow();
            assertThat(claimed.status()).as("never started: back in the queue").isEqualTo(ExperimentStatus.QUEUED);
            assertThat(claimed.attempt()).isEqualTo(1);
        }

        assertThat(project.sortie("stop", "old-running").code()).isZero();
        Awaitility.await("the old run's command stopped").atMost(Duration.ofSeconds(30)).until(() -> !command.isAlive());
        try (Ledger l = SqliteLedger.open(ledgerFile)) {
            assertThat(l.find("old-running").orElseThrow().status()).isEqualTo(ExperimentStatus.STOPPED);
        }
    }

    /** A running experiment's row as the previous release inserted it. */
    private static void insertOld(Connection c, int seq, String name, String task, String host, long supervisorPid,
            Long supervisorStart, long pid, Long processStart) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO experiments (id, seq, name, status, executor, command,"
                + " params, task, created_at, started_at, attempt, handle_host, handle_supervisor_pid, handle_supervisor_start,"
                + " handle_pid, handle_process_start) VALUES (?, ?, ?, 'running', 'local', '{\"shell\": \"true\"}', '{}', ?,"
                + " ?, ?, 1, ?, ?, ?, ?, ?)")) {
            long now = System.currentTimeMillis();
            ps.setString(1, name);
            ps.setInt(2, seq);
            ps.setString(3, name);
            ps.setString(4, task);
            ps.setLong(5, now);
            ps.setLong(6, now);
            ps.setString(7, host);
            ps.setLong(8, supervisorPid);
            ps.setObject(9, supervisorStart);
            ps.setLong(10, pid);
            ps.setObject(11, processStart);
            ps.executeUpdate();
        }
    }
}
