package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ExperimentStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One end per attempt: the agent's, or a salvage's when the agent died without one; never both, whatever the timing. */
class JournalEndTest {
    static final JournalRecord.End SUCCEEDED = new JournalRecord.End(new RunOutcome(ExperimentStatus.SUCCEEDED, 0, null), 5);

    @TempDir
    Path tmp;

    Path runDir() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("runs/e1"));
        AgentRun spec = new AgentRun("e1", "exp", 1, new TaskSource(null, "exp", null, null, false, false).toJson(),
                new ObjectMapper().createObjectNode(), List.of("true"), Map.of(), List.of(), Map.of(), List.of(), tmp.toString());
        Files.write(AgentMain.runFile(run, 1), spec.toJson());
        Files.createDirectories(run.resolve("work"));
        Files.writeString(run.resolve("work/train.py"), "print(1)\n");
        Files.createDirectories(run.resolve("logs"));
        Files.writeString(AgentMain.logFile(run, 1), "done\n");
        return run;
    }

    static List<JournalRecord> records(Path journal) throws Exception {
        return Files.readAllLines(journal, StandardCharsets.UTF_8).stream().map(JournalRecord::parse).toList();
    }

    static long ends(Path journal) throws Exception {
        return records(journal).stream().filter(r -> r instanceof JournalRecord.End).count();
    }

    @Test
    void aSalvageOfAnAttemptWhoseAgentEndedItTouchesNothing() throws Exception {
        Path run = runDir();
        Path journal = AgentMain.journalFile(run, 1);
        // the agent wrote its end and exited just before the follower found it dead and asked for a salvage
        Files.writeString(journal, new JournalRecord.Exited().toLine() + "\n" + SUCCEEDED.toLine() + "\n");

        assertThat(AgentMain.salvage(run, 1, 0)).isZero();

        assertThat(ends(journal)).isEqualTo(1);
        assertThat(records(journal).get(1)).isEqualTo(SUCCEEDED);
        assertThat(run.resolve("work/train.py")).exists();
    }

    @Test
    void aSalvageOfAnAttemptWithoutAnEndEndsItInterrupted() throws Exception {
        Path run = runDir();
        Path journal = AgentMain.journalFile(run, 1);
        Files.writeString(journal, new JournalRecord.Exited().toLine() + "\n");

        assertThat(AgentMain.salvage(run, 1, 0)).isZero();

        assertThat(ends(journal)).isEqualTo(1);
        JournalRecord.End end = (JournalRecord.End) records(journal).get(records(journal).size() - 1);
        assertThat(end.outcome().status()).isEqualTo(ExperimentStatus.INTERRUPTED);
        assertThat(end.outcome().error()).contains("the agent watching it on");
        assertThat(run.resolve("work")).doesNotExist();
    }

    @Test
    void anEndIsNotFoundInOtherRecordsOrTornLines() throws Exception {
        Path journal = tmp.resolve("journal-1.jsonl");
        assertThat(JournalWriter.hasEnd(journal)).isFalse();
        Files.writeString(journal, "{\"t\":\"metrics\",\"p\":[[\"{\\\"t\\\":\\\"end\\\"\",1,1.0,0]]}\n{\"t\":\"end\",\"status\":\"succ");
        assertThat(JournalWriter.hasEnd(journal)).isFalse();
        Files.writeString(journal, "eeded\"}\n", java.nio.file.StandardOpenOption.APPEND);
        assertThat(JournalWriter.hasEnd(journal)).isTrue();
    }

    /**
     * The agent (this JVM) is writing its end when a salvage (a real agent process) starts: the salvage waits for the
     * journal's lock, then finds the end and leaves the attempt alone.
     */
    @Test
    @Tag("integration")
    void aSalvageWaitsForAnEndBeingWrittenAndThenLeavesItAlone() throws Exception {
        Path run = runDir();
        Path journal = AgentMain.journalFile(run, 1);
        Process[] salvage = new Process[1];
        try (JournalWriter agent = new JournalWriter(journal)) {
            agent.write(new JournalRecord.Exited());
            boolean written = agent.endOnce(() -> {
                salvage[0] = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"), AgentMain.class.getName(), "salvage", run.toString(), "1", "0")
                        .redirectErrorStream(true).redirectOutput(tmp.resolve("salvage.out").toFile()).start();
                try {
                    waitUntilBlockedOnALock(salvage[0]);
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                return SUCCEEDED;
            });
            assertThat(written).isTrue();
        }
        assertThat(salvage[0].waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(salvage[0].exitValue()).as(Files.readString(tmp.resolve("salvage.out"))).isZero();
        assertThat(ends(journal)).isEqualTo(1);
        assertThat(records(journal)).last().isEqualTo(SUCCEEDED);
        assertThat(run.resolve("work/train.py")).exists();
    }

    /** A process waiting for a POSIX lock shows in /proc/locks as a "->" line with its pid. */
    static void waitUntilBlockedOnALock(Process p) throws java.io.IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String pid = " " + p.pid() + " ";
        while (Files.readAllLines(Path.of("/proc/locks")).stream().noneMatch(l -> l.contains("->") && l.contains(pid))) {
            assertThat(p.isAlive()).as("the salvage ended without waiting for the lock").isTrue();
            assertThat(System.nanoTime()).as("the salvage never waited for the journal's lock").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
