package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.remote.host.HostShell;
import dev.sortie.executor.remote.host.RunPoll;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A look at a run whose agent writes its end and exits in the middle of the look, on a real sshd host. The
 * moment is forced, not waited for: the host's {@code stat} is a wrapper that, once armed, has the (stand-in)
 * agent append its end and exit right after the journal's size was taken, as a busy host sometimes schedules it.
 */
@Tag("integration")
class RunPollRaceIntegrationTest {
    static final String END = "{\"t\":\"end\",\"status\":\"succeeded\",\"exit\":0,\"error\":null,\"log_size\":0}";

    @TempDir
    Path tmp;

    @Test
    void aLookThatFindsTheAgentDeadHasItsWholeJournalEvenWhenTheAgentEndedMidLook() throws Exception {
        Path hooks = Files.createDirectories(tmp.resolve("bin"));
        Path stat = hooks.resolve("stat");
        Files.writeString(stat, String.join("\n",
                "#!/bin/sh",
                "out=$(/usr/bin/stat \"$@\"); rc=$?",
                "for a in \"$@\"; do case \"$a\" in */journal-1.jsonl)",
                "  d=${a%/*}",
                "  if [ -e \"$d/armed\" ]; then",
                "    rm -f \"$d/armed\"; : > \"$d/go\"",
                "    p=$(cat \"$d/agent-1.pid\"); i=0",
                // until the agent is gone (a zombie's cmdline is empty): the end is written and it exited
                "    while tr '\\000' ' ' < \"/proc/$p/cmdline\" 2>/dev/null | grep -q AgentMain && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done",
                "  fi;;",
                "esac; done",
                "printf '%s\\n' \"$out\"; exit $rc",
                ""));
        Files.setPosixFilePermissions(stat, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (SshdFixture sshd = SshdFixture.start(Map.of("PATH", hooks + ":/usr/local/bin:/usr/bin:/bin"))) {
            Path run = Files.createDirectories(sshd.dir.resolve("host/runs/e1"));
            Files.createDirectories(run.resolve("logs"));
            Files.writeString(run.resolve("logs/attempt-1.log"), "done\n");
            Files.writeString(run.resolve("journal-1.jsonl"), "{\"t\":\"agent\",\"pid\":1,\"start\":null}\n{\"t\":\"exited\"}\n");
            // the agent's stand-in: its command line is the agent's as the look checks it; once told, it ends its journal and exits
            Process agent = new ProcessBuilder("sh", "-c", "while [ ! -e \"$2/go\" ]; do sleep 0.01; done; printf '%s\\n' '" + END
                    + "' >> \"$2/journal-1.jsonl\"", "AgentMain", "run", run.toString(), "1").start();
            try {
                Files.writeString(run.resolve("agent-1.pid"), Long.toString(agent.pid()));
                try (SshConnection c = TransferFixture.connect(sshd); HostShell shell = HostShell.open(c)) {
                    RunPoll.Look before = HostShellIntegrationTest.viaShell(shell, run, 0, 0);
                    assertThat(before.agentAlive()).isTrue();
                    long offset = before.journalSize();

                    Files.writeString(run.resolve("armed"), "");
                    RunPoll.Look mid = HostShellIntegrationTest.viaShell(shell, run, offset, before.logSize());
                    assertThat(agent.waitFor(10, TimeUnit.SECONDS)).isTrue();
                    assertThat(run.resolve("armed")).as("the hook ran").doesNotExist();
                    String journal = new String(mid.journal(), StandardCharsets.UTF_8);
                    // the invariant salvage relies on: dead means the journal read with it is the whole journal
                    if (!mid.agentAlive()) {
                        assertThat(journal).as("a look that found the agent dead read its journal before it ended")
                                .contains("\"t\":\"end\"");
                    } else {
                        RunPoll.Look after = HostShellIntegrationTest.viaShell(shell, run, offset + mid.journal().length, mid.logSize());
                        assertThat(after.agentAlive()).isFalse();
                        assertThat(new String(after.journal(), StandardCharsets.UTF_8)).isEqualTo(END + "\n");
                    }
                }
            } finally {
                agent.destroyForcibly();
            }
        }
    }
}
