package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.executor.remote.channel.HostChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * ProxyJump through a real jump host: two sshd instances, the executor's host an alias of a test ssh config whose
 * ProxyJump names the jump host (another alias, with its own port, key and host key).
 */
@Tag("integration")
class ProxyJumpIntegrationTest {
    private static final Duration T = Duration.ofSeconds(30);
    @Sshd
    private static SshdFixture jump;
    @Sshd
    private static SshdFixture target;

    /** known_hosts with both hosts; an ssh config where "gpu-behind" is reached through "bastion". */
    private static SshPaths paths(int jumpPort, Path jumpKey) throws Exception {
        SshPaths paths = target.paths(jump.knownHostsLine() + target.knownHostsLine());
        Files.writeString(paths.configFile(), String.join("\n",
                "Host bastion",
                "  HostName 127.0.0.1",
                "  Port " + jumpPort,
                "  User " + jump.user,
                "  IdentityFile " + jumpKey,
                "",
                "Host gpu-behind",
                "  HostName 127.0.0.1",
                "  Port " + target.port,
                "  User " + target.user,
                "  IdentityFile " + target.clientKey,
                "  ProxyJump bastion",
                ""));
        return paths;
    }

    private static SshExecutorConfig executor() {
        return SshExecutorConfig.fromOptions("behind", new ObjectMapper().createObjectNode()
                .put("type", "ssh").put("host", "gpu-behind").put("connect_timeout", "10s"));
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }

    @Test
    void reachesTheTargetThroughTheJumpHost() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        SshTarget t = executor().resolve(paths);
        assertThat(t.proxyJump()).isEqualTo("bastion");
        long jumpLogins = count(jump.log(), "Accepted publickey");
        long targetLogins = count(target.log(), "Accepted publickey");
        try (SshConnection c = SshConnection.open(executor(), paths)) {
            HostChannel.Result r = c.exec(List.of("sh", "-c", "echo \"$SSH_CONNECTION\""), T);
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout().trim()).endsWith("127.0.0.1 " + target.port);
        }
        // both hosts saw a login: the jump host with its own key, the target with the executor's
        assertThat(count(jump.log(), "Accepted publickey")).isEqualTo(jumpLogins + 1);
        assertThat(count(target.log(), "Accepted publickey")).isEqualTo(targetLogins + 1);
        assertThat(jump.log()).contains(fingerprint(jump.clientKey));
        assertThat(target.log()).contains(fingerprint(target.clientKey));
    }

    @Test
    void aJumpHostWithoutIdentityFileGetsTheAgentsKeysOrTheDefaultKeys() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        // the bastion has no IdentityFile: only the agent holds its key
        Files.writeString(paths.configFile(), Files.readString(paths.configFile()).replace("  IdentityFile " + jump.clientKey + "\n", ""));
        try (SshAgentProcess agent = SshAgentProcess.start(jump.dir)) {
            agent.add(jump.clientKey, null);
            try (SshConnection c = SshConnection.open(executor(), paths.withAgentSocket(agent.socket()))) {
                assertThat(c.exec(List.of("true"), T).ok()).isTrue();
            }
        }
        assertThatThrownBy(() -> SshConnection.open(executor(), paths).close()) // without the agent, no key for the bastion
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.AUTH_FAILED))
                .hasMessageContaining("jump host " + jump.user + "@127.0.0.1:" + jump.port + " (bastion)")
                .hasMessageContaining("no key could be offered");
        // as with ssh, a jump host without IdentityFile gets the default keys (~/.ssh/id_*)
        Files.copy(jump.clientKey, paths.sshDir().resolve("id_ed25519"));
        try (SshConnection c = SshConnection.open(executor(), paths)) {
            assertThat(c.exec(List.of("true"), T).ok()).isTrue();
        }
    }

    @Test
    void aJumpHostThatRefusesTheConnectionIsNamed() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        jump.kill();
        try {
            assertThat(jump.isRunning()).isFalse();
            assertThatThrownBy(() -> SshConnection.open(executor(), paths).close())
                    .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.UNREACHABLE))
                    .hasMessageContaining("cannot connect to the jump host " + jump.user + "@127.0.0.1:" + jump.port + " (bastion)")
                    .hasMessageContaining("ProxyJump of gpu-behind")
                    .hasMessageContaining("sshd listening on port " + jump.port)
                    .hasMessageContaining(paths.configFile().toString());
        } finally {
            jump.restart();
        }
        // the host is back, same port and host key: the same known_hosts works
        try (SshConnection c = SshConnection.open(executor(), paths)) {
            assertThat(c.exec(List.of("true"), T).ok()).isTrue();
        }
    }

    @Test
    void aTargetTheJumpHostCannotReachIsNamed() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        target.kill();
        try {
            assertThatThrownBy(() -> SshConnection.open(executor(), paths).close())
                    .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.UNREACHABLE))
                    .hasMessageContaining("the jump host " + jump.user + "@127.0.0.1:" + jump.port + " (bastion) could not connect to 127.0.0.1:"
                            + target.port + " for gpu-behind");
        } finally {
            target.restart();
        }
    }

    @Test
    void aJumpHostThatRefusesTheKeyIsNamed() throws Exception {
        Path stranger = SshdFixture.keygen(Files.createTempDirectory(jump.dir, "stranger"), "stranger_ed25519");
        SshPaths paths = paths(jump.port, stranger);
        assertThatThrownBy(() -> SshConnection.open(executor(), paths).close())
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.AUTH_FAILED))
                .hasMessageContaining("authentication failed for the jump host " + jump.user + "@127.0.0.1:" + jump.port + " (bastion)")
                .hasMessageContaining(stranger.toString());
    }

    @Test
    void anUnknownJumpHostKeyIsRefusedAndNamed() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        Files.writeString(paths.knownHosts(), target.knownHostsLine()); // the target is known, the jump host is not
        assertThatThrownBy(() -> SshConnection.open(executor(), paths).close())
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.HOST_KEY_UNKNOWN))
                .hasMessageContaining("[127.0.0.1]:" + jump.port);
    }

    @Test
    void anUnknownTargetHostKeyBehindTheJumpHostIsNamedByItsOwnAddress() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        Files.writeString(paths.knownHosts(), jump.knownHostsLine());
        assertThatThrownBy(() -> SshConnection.open(executor(), paths).close())
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.HOST_KEY_UNKNOWN))
                .hasMessageContaining("[127.0.0.1]:" + target.port);
    }

    @Test
    void acceptingANewTargetKeyBehindTheJumpHostRecordsTheTargetNotTheTunnel() throws Exception {
        SshPaths paths = paths(jump.port, jump.clientKey);
        Files.writeString(paths.knownHosts(), jump.knownHostsLine());
        try (SshConnection c = SshConnection.open(executor().withAcceptNewHostKey(true), paths)) {
            assertThat(c.exec(List.of("true"), T).ok()).isTrue();
        }
        List<String> lines = Files.readAllLines(paths.knownHosts()).stream().filter(l -> !l.isBlank()).toList();
        String targetKey = Files.readString(Path.of(target.hostKey + ".pub")).split("\\s+")[1];
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).isEqualTo("[127.0.0.1]:" + target.port + " ssh-ed25519 " + targetKey);
    }

    private static String fingerprint(Path key) throws Exception {
        Process p = new ProcessBuilder("ssh-keygen", "-lf", key + ".pub").start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out.split("\\s+")[1];
    }
}
