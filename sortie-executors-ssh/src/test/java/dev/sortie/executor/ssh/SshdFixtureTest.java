package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.channel.ShellQuote;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The fixture itself: several hosts at once, and a host that dies and comes back, as host-loss tests need. */
@Tag("integration")
class SshdFixtureTest {
    private static final Duration T = Duration.ofSeconds(30);

    private static SshExecutorConfig config(SshdFixture f) {
        return SshExecutorConfig.fromOptions("f", new ObjectMapper().createObjectNode().put("host", "127.0.0.1").put("port", f.port)
                .put("identity", f.clientKey.toString()).put("remote_dir", f.hostDir().toString()).put("connect_timeout", "5s"));
    }

    private static long pid(SshConnection c, String script) throws Exception {
        HostChannel.Result r = c.script(script, T);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return Long.parseLong(r.stdout().strip());
    }

    @Test
    void twoHostsRunAtOnceEachWithItsOwnPortKeyAndFolder() throws Exception {
        try (SshdFixture a = SshdFixture.start(); SshdFixture b = SshdFixture.start()) {
            assertThat(a.port).isNotEqualTo(b.port);
            assertThat(Files.readString(Path.of(a.hostKey + ".pub"))).isNotEqualTo(Files.readString(Path.of(b.hostKey + ".pub")));
            assertThat(a.hostDir()).isDirectory().isNotEqualTo(b.hostDir());
            for (SshdFixture f : List.of(a, b)) {
                try (SshConnection c = SshConnection.open(config(f), f.paths(f.knownHostsLine()))) {
                    assertThat(c.exec(List.of("echo", "hi"), T).stdout()).isEqualTo("hi\n");
                }
            }
        }
    }

    @Test
    void killTakesSessionsAndDetachedProcessesDownAndRestartBringsTheSameHostBack() throws Exception {
        try (SshdFixture f = SshdFixture.start()) {
            SshPaths paths = f.paths(f.knownHostsLine());
            Path pidFile = f.hostDir().resolve("in-session.pid");
            List<Long> pids;
            SshConnection c = SshConnection.open(config(f), paths);
            Thread inSession = new Thread(() -> {
                try {
                    c.script("echo $$ > " + ShellQuote.quote(pidFile.toString()) + "; exec sleep 300", T);
                } catch (Exception expected) {
                    // the host dies under it
                }
            });
            try {
                inSession.start();
                // besides a command still running in its session: one left in the background when its session ended
                // (re-parented), one detached with setsid, and one detached with a clean environment, working in the
                // host's folder (as an agent would be)
                long background = pid(c, "sleep 301 >/dev/null 2>&1 & echo $!");
                long detached = pid(c, "setsid sh -c 'sleep 302' >/dev/null 2>&1 < /dev/null & echo $!");
                long clean = pid(c, "cd " + ShellQuote.quote(f.hostDir().toString())
                        + " || exit 1; setsid env -i /bin/sh -c 'sleep 303' >/dev/null 2>&1 < /dev/null & echo $!");
                Awaitility.await("the session's pid").atMost(Duration.ofSeconds(30))
                        .until(() -> Files.exists(pidFile) && Files.readString(pidFile).endsWith("\n"));
                pids = List.of(Long.parseLong(Files.readString(pidFile).strip()), background, detached, clean);
                for (long p : pids) {
                    assertThat(ProcessHandle.of(p)).as("pid " + p).isPresent();
                }
                f.kill();
            } finally {
                c.close();
                inSession.join(10_000);
            }
            assertThat(f.isRunning()).isFalse();
            for (long p : pids) {
                Optional<ProcessHandle> h = ProcessHandle.of(p);
                assertThat(h.isEmpty() || !h.get().isAlive() || zombie(p)).as("pid " + p + " survived kill()").isTrue();
            }
            assertThatThrownBy(() -> SshConnection.open(config(f), paths).close())
                    .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.UNREACHABLE));

            f.restart();
            assertThat(f.isRunning()).isTrue();
            try (SshConnection again = SshConnection.open(config(f), paths)) { // same port, same host key: known_hosts still fits
                assertThat(again.exec(List.of("true"), T).ok()).isTrue();
            }
        }
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (Exception e) {
            return true;
        }
    }
}
