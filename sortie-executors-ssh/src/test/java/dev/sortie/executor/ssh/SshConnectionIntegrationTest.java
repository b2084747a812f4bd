package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.HostProbe;
import dev.sortie.executor.remote.host.HostReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The connection against a real OpenSSH sshd on loopback. */
@Tag("integration")
class SshConnectionIntegrationTest {
    private static final Duration T = Duration.ofSeconds(30);
    @Sshd
    private static SshdFixture sshd;

    private static SshExecutorConfig config(Path identity, boolean acceptNew) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("type", "ssh").put("host", "127.0.0.1").put("port", sshd.port).put("identity", identity.toString())
                .put("accept_new_host_key", acceptNew).put("connect_timeout", "10s");
        return SshExecutorConfig.fromOptions("test", o);
    }

    private static String fingerprint(Path pub) throws Exception {
        Process p = new ProcessBuilder("ssh-keygen", "-lf", pub.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.split("\\s+")[1];
    }

    @Test
    void connectsWhenTheHostKeyIsKnown() throws Exception {
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, false), sshd.paths(sshd.knownHostsLine()))) {
            HostChannel.Result r = c.exec(List.of("echo", "hello"), T);
            assertThat(r.exitCode()).isZero();
            assertThat(r.stdout()).isEqualTo("hello\n");
            HostChannel.Result fail = c.exec(List.of("sh", "-c", "echo oops >&2; exit 3"), T);
            assertThat(fail.exitCode()).isEqualTo(3);
            assertThat(fail.stderr()).isEqualTo("oops\n");
        }
    }

    @Test
    void aCommandOnAConnectionThatClosedNeverStartsAndSaysSo() throws Exception {
        SshConnection c = SshConnection.open(config(sshd.clientKey, false), sshd.paths(sshd.knownHostsLine()));
        c.close();
        for (org.junit.jupiter.api.function.Executable command : List.<org.junit.jupiter.api.function.Executable>of(
                () -> c.exec(List.of("true"), java.time.Duration.ofSeconds(5)),
                () -> c.exec(List.of("cat"), new java.io.ByteArrayInputStream(new byte[0]), java.io.OutputStream.nullOutputStream(),
                        java.time.Duration.ofSeconds(5)),
                () -> c.start(List.of("cat"), java.time.Duration.ofSeconds(5)))) {
            SshConnectionException e = org.junit.jupiter.api.Assertions.assertThrows(SshConnectionException.class, command);
            assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.CLOSED);
            assertThat(e.hostUnreachable()).isTrue();
            assertThat(e.getMessage()).contains("closed before");
        }
    }

    @Test
    void refusesAnUnknownHostKeyAndSaysHowToAcceptIt() throws Exception {
        SshPaths paths = sshd.paths(null);
        assertThatThrownBy(() -> SshConnection.open(config(sshd.clientKey, false), paths))
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.HOST_KEY_UNKNOWN))
                .hasMessageContaining("[127.0.0.1]:" + sshd.port)
                .hasMessageContaining(fingerprint(Path.of(sshd.hostKey + ".pub")))
                .hasMessageContaining("accept_new_host_key: true")
                .hasMessageContaining(paths.knownHosts().toString());
        assertThat(paths.knownHosts()).doesNotExist();
    }

    @Test
    void refusesAChangedHostKeyLoudlyEvenWithAcceptNew() throws Exception {
        Path other = SshdFixture.keygen(Files.createTempDirectory(sshd.dir, "other"), "other_host");
        String staleLine = sshd.knownHostsLine(Path.of(other + ".pub"));
        for (boolean acceptNew : new boolean[] {false, true}) {
            SshPaths paths = sshd.paths(staleLine);
            assertThatThrownBy(() -> SshConnection.open(config(sshd.clientKey, acceptNew), paths))
                    .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.HOST_KEY_CHANGED))
                    .hasMessageContaining("REMOTE HOST IDENTIFICATION HAS CHANGED")
                    .hasMessageContaining(fingerprint(Path.of(sshd.hostKey + ".pub")))
                    .hasMessageContaining(fingerprint(Path.of(other + ".pub")))
                    .hasMessageContaining("ssh-keygen -R '[127.0.0.1]:" + sshd.port + "'");
            assertThat(Files.readString(paths.knownHosts())).isEqualTo(staleLine);
        }
    }

    @Test
    void acceptNewHostKeyIsAnOptInThatWritesKnownHosts() throws Exception {
        SshPaths paths = sshd.paths(null);
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, true), paths)) {
            assertThat(c.exec(List.of("true"), T).ok()).isTrue();
        }
        String hostKeyBase64 = Files.readString(Path.of(sshd.hostKey + ".pub")).split("\\s+")[1];
        assertThat(Files.readString(paths.knownHosts())).contains("[127.0.0.1]:" + sshd.port).contains(hostKeyBase64);
        // from now on it is known: no opt-in needed
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, false), paths)) {
            assertThat(c.exec(List.of("true"), T).ok()).isTrue();
        }
    }

    @Test
    void aRefusedConnectionSaysWhereAndWhatToCheck() throws Exception {
        int closed = SshdFixture.freePort();
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("host", "127.0.0.1").put("port", closed).put("identity", sshd.clientKey.toString());
        SshExecutorConfig cfg = SshExecutorConfig.fromOptions("test", o);
        assertThatThrownBy(() -> SshConnection.open(cfg, sshd.paths(sshd.knownHostsLine())))
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.UNREACHABLE))
                .hasMessageContaining("cannot connect to " + sshd.user + "@127.0.0.1:" + closed)
                .hasMessageContaining("sshd listening on port " + closed);
    }

    @Test
    void aKeyTheHostDoesNotAcceptFailsAuthenticationClearly() throws Exception {
        Path stranger = SshdFixture.keygen(Files.createTempDirectory(sshd.dir, "stranger"), "stranger_ed25519");
        assertThatThrownBy(() -> SshConnection.open(config(stranger, false), sshd.paths(sshd.knownHostsLine())))
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.AUTH_FAILED))
                .hasMessageContaining("authentication failed for " + sshd.user + "@127.0.0.1:" + sshd.port)
                .hasMessageContaining(stranger.toString())
                .hasMessageContaining("ssh-copy-id");
    }

    @Test
    void aMissingIdentityFileIsNamed() throws Exception {
        Path missing = sshd.dir.resolve("no_such_key");
        assertThatThrownBy(() -> SshConnection.open(config(missing, false), sshd.paths(sshd.knownHostsLine())))
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.BAD_IDENTITY))
                .hasMessageContaining(missing.toString());
    }

    @Test
    void hostileArgumentsArriveLiterally() throws Exception {
        Path marker = sshd.dir.resolve("pwned");
        List<String> hostile = List.of(
                "$(touch " + marker + ")",
                "`touch " + marker + "`",
                "it's",
                "'",
                "''",
                "\"double\" \\ back\\slash",
                "two  spaces ",
                "line1\nline2\n",
                "; touch " + marker + " #",
                "&& rm -rf / ||",
                "$HOME ${PATH} $0 $@ *",
                "",
                "-n",
                "tab\there | pipe > redirect < in",
                "ünïcödé ✓");
        List<String> argv = new ArrayList<>(List.of("printf", "%s\\0"));
        argv.addAll(hostile);
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, false), sshd.paths(sshd.knownHostsLine()))) {
            HostChannel.Result r = c.exec(argv, T);
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            List<String> back = Arrays.asList(r.stdout().split("\0", -1));
            assertThat(back.subList(0, back.size() - 1)).containsExactlyElementsOf(hostile);
            // the same through sh -c with positional parameters
            List<String> viaSh = new ArrayList<>(List.of("sh", "-c", "for a in \"$@\"; do printf '%s\\0' \"$a\"; done", "sh"));
            viaSh.addAll(hostile);
            HostChannel.Result r2 = c.exec(viaSh, T);
            List<String> back2 = Arrays.asList(r2.stdout().split("\0", -1));
            assertThat(back2.subList(0, back2.size() - 1)).containsExactlyElementsOf(hostile);
        }
        assertThat(marker).doesNotExist();
    }

    @Test
    void hostProbeReportsThisMachine() throws Exception {
        HostReport report;
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, false), sshd.paths(sshd.knownHostsLine()))) {
            report = HostProbe.probe(c);
        }
        assertThat(report.os()).startsWith("Linux ");
        assertThat(report.cpus()).isEqualTo(localNproc());
        assertThat(report.memoryBytes()).isGreaterThan(256L << 20);
        assertThat(report.diskFreeBytes()).isGreaterThan(0);
        assertThat(report.home()).isNotBlank();
        if (Files.isReadable(Path.of("/etc/os-release"))) {
            assertThat(report.distro()).isNotBlank();
        }
        if (report.javaPath() != null) {
            assertThat(report.javaMajor()).isGreaterThanOrEqualTo(8);
            assertThat(report.canRunSortie()).isEqualTo(report.javaMajor() >= 17);
        } else {
            assertThat(report.missing()).singleElement().asString().contains("no java found");
        }
        assertThat(report.render()).contains("cpus:").contains("ready:");
    }

    @Test
    void hostProbeChecksTheExecutorsRemoteDir() throws Exception {
        Path remoteDir = sshd.hostDir().resolve("sortie dir");
        Files.writeString(sshd.hostDir().resolve("a-file"), "not a folder");
        HostReport ok;
        HostReport blocked;
        try (SshConnection c = SshConnection.open(config(sshd.clientKey, false), sshd.paths(sshd.knownHostsLine()))) {
            ok = HostProbe.probe(c, remoteDir.toString());
            blocked = HostProbe.probe(c, sshd.hostDir().resolve("a-file/sortie").toString());
        }
        assertThat(remoteDir).isDirectory().isEmptyDirectory(); // made by the probe; its write test cleaned up
        assertThat(ok.remoteDir()).isEqualTo(remoteDir.toString());
        assertThat(ok.user()).isEqualTo(sshd.user);
        assertThat(ok.diskFreeBytes()).isPositive();
        assertThat(ok.missing()).noneMatch(m -> m.contains("remote_dir"));
        assertThat(ok.render()).contains("free in " + remoteDir + " (remote_dir)");
        assertThat(blocked.canRunSortie()).isFalse();
        assertThat(blocked.missing()).anySatisfy(m -> assertThat(m)
                .contains("a writable remote_dir: " + sshd.hostDir().resolve("a-file/sortie") + ": cannot create it")
                .contains("Not a directory")
                .contains("set 'remote_dir:' on the executor to a folder " + sshd.user + " can write"));
    }

    private static int localNproc() throws Exception {
        Process p = new ProcessBuilder("nproc").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return Integer.parseInt(out);
    }

    @Test
    void anSshConfigAliasIsResolvedLikeSsh() throws Exception {
        SshPaths paths = sshd.paths(sshd.knownHostsLine());
        Files.writeString(paths.configFile(), String.join("\n",
                "Host sortie-test-box",
                "  HostName 127.0.0.1",
                "  Port " + sshd.port,
                "  User " + sshd.user,
                "  IdentityFile " + sshd.clientKey,
                ""));
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("type", "ssh").put("host", "sortie-test-box");
        SshExecutor executor = new SshExecutor(SshExecutorConfig.fromOptions("box", o), paths);
        assertThat(executor.target()).isEqualTo(new SshTarget("sortie-test-box", "127.0.0.1", sshd.port, sshd.user, List.of(sshd.clientKey), null));
        HostReport report = executor.test();
        assertThat(report.target()).isEqualTo(sshd.user + "@127.0.0.1:" + sshd.port + " (sortie-test-box)");
        assertThat(report.cpus()).isPositive();
    }

    @Test
    void keepalivesAreAnsweredOnAnIdleConnection() throws Exception {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("host", "127.0.0.1").put("port", sshd.port).put("identity", sshd.clientKey.toString()).put("keepalive", "200ms");
        try (SshConnection c = SshConnection.open(SshExecutorConfig.fromOptions("test", o), sshd.paths(sshd.knownHostsLine()))) {
            Thread.sleep(1500); // several heartbeats, each answered; 4 missed would drop the connection
            assertThat(c.isOpen()).isTrue();
            assertThat(c.exec(List.of("echo", "still here"), T).stdout()).isEqualTo("still here\n");
        }
    }
}
