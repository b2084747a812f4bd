package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.AgentLaunch;
import dev.sortie.executor.remote.host.HostShell;
import dev.sortie.executor.remote.host.RunPoll;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The host's shell against a real sshd: many calls over one command, each answering as the command on its own. */
@Tag("integration")
class HostShellIntegrationTest {
    @Sshd
    private static SshdFixture sshd;

    static List<String> lookArgs(Path run, long jo, long lo) {
        return List.of(run.toString(), "1", Long.toString(jo), Long.toString(lo), Integer.toString(RunPoll.MAX_CHUNK));
    }

    static RunPoll.Look viaShell(HostShell shell, Path run, long jo, long lo) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostChannel.Result r = shell.call("sortie_look", lookArgs(run, jo, lo), "", out);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return RunPoll.parse(out.toByteArray(), "test");
    }

    static RunPoll.Look onItsOwn(SshConnection c, Path run, long jo, long lo) throws Exception {
        List<String> argv = new ArrayList<>(List.of("sh", "-c", RunPoll.SCRIPT, "sortie-look"));
        argv.addAll(lookArgs(run, jo, lo));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(c.exec(argv, new ByteArrayInputStream(new byte[0]), out, Duration.ofSeconds(30)).ok()).isTrue();
        return RunPoll.parse(out.toByteArray(), "test");
    }

    @Test
    void answersLookAfterLookAsTheRunGrowsAsOneShotLooksDo() throws Exception {
        // a run folder whose path would run code if it were ever spliced into shell code
        Path run = Files.createDirectories(sshd.dir.resolve("it's $(touch pwned) `touch pwned2` \"dir\"/runs/e1"));
        Files.createDirectories(run.resolve("logs"));
        Path journal = run.resolve("journal-1.jsonl");
        Path log = run.resolve("logs/attempt-1.log");
        Files.writeString(journal, "{\"t\":\"agent\"}\n");
        Files.write(log, new byte[] {'a', 0, '\n', (byte) 0xff}); // any bytes: a NUL and a non-UTF-8 one too

        try (SshConnection c = TransferFixture.connect(sshd); HostShell shell = HostShell.open(c)) {
            RunPoll.Look first = viaShell(shell, run, 0, 0);
            assertThat(first.launched()).isFalse();
            assertThat(new String(first.journal(), StandardCharsets.UTF_8)).isEqualTo("{\"t\":\"agent\"}\n");
            assertThat(first.log()).containsExactly('a', 0, '\n', (byte) 0xff);
            assertThat(first).usingRecursiveComparison().isEqualTo(onItsOwn(c, run, 0, 0));

            Files.writeString(journal, "{\"t\":\"exited\"}\n", StandardOpenOption.APPEND);
            Files.writeString(log, "more\n", StandardOpenOption.APPEND);
            Files.writeString(run.resolve("agent-1.pid"), "999999999");
            Files.writeString(run.resolve("agent-1.out"), "the agent's last words\n");
            RunPoll.Look second = viaShell(shell, run, first.journalSize(), first.logSize());
            assertThat(second.launched()).isTrue();
            assertThat(second.agentAlive()).isFalse();
            assertThat(new String(second.journal(), StandardCharsets.UTF_8)).isEqualTo("{\"t\":\"exited\"}\n");
            assertThat(new String(second.log(), StandardCharsets.UTF_8)).isEqualTo("more\n");
            assertThat(second.agentOutput()).isEqualTo("the agent's last words\n");
            assertThat(second).usingRecursiveComparison().isEqualTo(onItsOwn(c, run, first.journalSize(), first.logSize()));

            assertThat(viaShell(shell, run, second.journalSize(), second.logSize()).log()).isEmpty();
            assertThat(shell.usableOn(c)).isTrue();
        }
        try (var files = Files.walk(sshd.dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("pwned", "pwned2");
        }
    }

    @Test
    void aScriptsExitCodeAndStderrComeBackAndTheShellGoesOn() throws Exception {
        Path run = Files.createDirectories(sshd.dir.resolve("launch/runs/e1"));
        try (SshConnection c = TransferFixture.connect(sshd); HostShell shell = HostShell.open(c)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            // the agent's jars are not on this host: the launch says so with its own exit code, writing nothing
            HostChannel.Result r = shell.call("sortie_launch",
                    List.of(sshd.dir.resolve("agent/gone.jar").toString(), run.toString(), "1", "", "", "", ""), "{\"run\":1}", out);
            assertThat(r.exitCode()).isEqualTo(AgentLaunch.EXIT_AGENT_MISSING);
            assertThat(run.resolve("run-1.json")).doesNotExist();
            assertThat(viaShell(shell, run, 0, 0).journalSize()).isEqualTo(-1);
        }
    }

    @Test
    void onlyItsOwnFunctionsAndOneLineInputsGoThrough() throws Exception {
        assertThat(HostShell.accepts(List.of("a b", "$(x)", "'\""), "{\"json\": \"line\"}")).isTrue();
        assertThat(HostShell.accepts(List.of("two\nlines"), "")).isFalse();
        assertThat(HostShell.accepts(List.of("x"), "two\nlines")).isFalse();
        try (SshConnection c = TransferFixture.connect(sshd); HostShell shell = HostShell.open(c)) {
            assertThatThrownBy(() -> shell.call("rm", List.of("-rf", "/"), "", new ByteArrayOutputStream()))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> shell.call("sortie_look", List.of("a\nb"), "", new ByteArrayOutputStream()))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
