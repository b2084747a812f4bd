package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The look shell against a real sshd: many looks over one command, each the same as a one-shot look. */
@Tag("integration")
class RunPollShellIntegrationTest {
    private static SshdFixture sshd;

    @BeforeAll
    static void start() throws Exception {
        sshd = SshdFixture.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (sshd != null) {
            sshd.close();
        }
    }

    @Test
    void answersLookAfterLookAsTheRunGrowsLikeOneShotLooks() throws Exception {
        Path run = Files.createDirectories(sshd.dir.resolve("it's a run dir/runs/e1"));
        Files.createDirectories(run.resolve("logs"));
        Path journal = run.resolve("journal-1.jsonl");
        Path log = run.resolve("logs/attempt-1.log");
        Files.writeString(journal, "{\"t\":\"agent\"}\n");
        Files.write(log, new byte[] {'a', 0, '\n', (byte) 0xff}); // any bytes, a NUL and a non-UTF-8 one too

        try (SshConnection c = TransferFixture.connect(sshd);
             RunPoll.Shell shell = RunPoll.Shell.open(c, run.toString(), 1)) {
            RunPoll.Look first = shell.look(0, 0);
            assertThat(first.launched()).isFalse();
            assertThat(first.agentAlive()).isFalse();
            assertThat(new String(first.journal(), StandardCharsets.UTF_8)).isEqualTo("{\"t\":\"agent\"}\n");
            assertThat(first.log()).containsExactly('a', 0, '\n', (byte) 0xff);
            assertThat(first).usingRecursiveComparison().isEqualTo(RunPoll.look(c, run.toString(), 1, 0, 0));

            Files.writeString(journal, "{\"t\":\"exited\"}\n", StandardOpenOption.APPEND);
            Files.writeString(log, "more\n", StandardOpenOption.APPEND);
            Files.writeString(run.resolve("agent-1.pid"), "999999999");
            Files.writeString(run.resolve("agent-1.out"), "the agent's last words\n");
            RunPoll.Look second = shell.look(first.journalSize(), first.logSize());
            assertThat(second.launched()).isTrue();
            assertThat(new String(second.journal(), StandardCharsets.UTF_8)).isEqualTo("{\"t\":\"exited\"}\n");
            assertThat(new String(second.log(), StandardCharsets.UTF_8)).isEqualTo("more\n");
            assertThat(second.agentOutput()).isEqualTo("the agent's last words\n");

            RunPoll.Look nothingNew = shell.look(second.journalSize(), second.logSize());
            assertThat(nothingNew.journal()).isEmpty();
            assertThat(nothingNew.log()).isEmpty();
            assertThat(shell.usableOn(c)).isTrue();
        }
    }
}
