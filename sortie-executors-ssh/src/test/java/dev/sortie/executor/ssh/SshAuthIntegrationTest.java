package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.executor.remote.channel.HostChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Logging in with a real ssh-agent and with passphrase-protected keys, against a real sshd. */
@Tag("integration")
class SshAuthIntegrationTest {
    private static final Duration T = Duration.ofSeconds(30);
    private static final String PASSPHRASE = "correct horse battery staple";
    @Sshd
    private static SshdFixture sshd;
    private static Path lockedKey;

    @BeforeAll
    static void start() throws Exception {
        lockedKey = SshdFixture.keygen(Files.createTempDirectory(sshd.dir, "locked"), "locked_ed25519", PASSPHRASE);
        sshd.authorize(Path.of(lockedKey + ".pub"));
    }

    private static SshExecutorConfig config(Path identity) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("type", "ssh").put("host", "127.0.0.1").put("port", sshd.port).put("connect_timeout", "10s");
        if (identity != null) {
            o.put("identity", identity.toString());
        }
        return SshExecutorConfig.fromOptions("test", o);
    }

    private static String whoami(SshConnection c) throws Exception {
        HostChannel.Result r = c.exec(List.of("id", "-un"), T);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return r.stdout().strip();
    }

    @Test
    void logsInWithTheAgentsKeyAndNoKeyFile() throws Exception {
        try (SshAgentProcess agent = SshAgentProcess.start(sshd.dir)) {
            agent.add(sshd.clientKey, null);
            SshPaths paths = sshd.paths(sshd.knownHostsLine()).withAgentSocket(agent.socket());
            assertThat(paths.sshDir()).isDirectoryNotContaining("glob:**/id_*"); // no identity file: only the agent can log in
            try (SshConnection c = SshConnection.open(config(null), paths)) {
                assertThat(whoami(c)).isEqualTo(sshd.user);
            }
        }
    }

    @Test
    void anRsaKeyInTheAgentSignsWithSha2() throws Exception {
        // RSA keys are signed by the agent with rsa-sha2-256/512 (flags in the sign request): OpenSSH refuses ssh-rsa/SHA-1
        Path rsa = Files.createTempDirectory(sshd.dir, "rsa").resolve("id_rsa");
        Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa.toString()).start();
        assertThat(p.waitFor()).isZero();
        sshd.authorize(Path.of(rsa + ".pub"));
        try (SshAgentProcess agent = SshAgentProcess.start(sshd.dir)) {
            agent.add(rsa, null);
            try (SshConnection c = SshConnection.open(config(null), sshd.paths(sshd.knownHostsLine()).withAgentSocket(agent.socket()))) {
                assertThat(whoami(c)).isEqualTo(sshd.user);
            }
        }
        assertThat(sshd.log()).containsPattern("Accepted publickey for " + sshd.user + " .* RSA SHA256:");
    }

    @Test
    void aPassphraseKeyHeldByTheAgentLogsInWithoutAskingForIt() throws Exception {
        try (SshAgentProcess agent = SshAgentProcess.start(sshd.dir)) {
            agent.add(lockedKey, PASSPHRASE);
            assertThat(agent.list()).contains("locked_ed25519");
            // the executor names the encrypted file; with no terminal it cannot be decrypted, so the agent did it
            try (SshConnection c = SshConnection.open(config(lockedKey), sshd.paths(sshd.knownHostsLine()).withAgentSocket(agent.socket()))) {
                assertThat(whoami(c)).isEqualTo(sshd.user);
            }
        }
    }

    @Test
    void identitiesOnlyOffersOnlyTheConfiguredKeyFromTheAgent() throws Exception {
        Path stranger = SshdFixture.keygen(Files.createTempDirectory(sshd.dir, "stranger"), "stranger_ed25519");
        try (SshAgentProcess agent = SshAgentProcess.start(sshd.dir)) {
            agent.add(sshd.clientKey, null); // would be accepted, but is not the configured identity
            agent.add(stranger, null);
            for (boolean identitiesOnly : new boolean[] {true, false}) {
                SshPaths paths = sshd.paths(sshd.knownHostsLine()).withAgentSocket(agent.socket());
                Files.writeString(paths.configFile(), String.join("\n",
                        "Host box",
                        "  HostName 127.0.0.1",
                        "  Port " + sshd.port,
                        "  IdentityFile " + stranger,
                        identitiesOnly ? "  IdentitiesOnly yes" : "",
                        ""));
                ObjectNode o = new ObjectMapper().createObjectNode().put("host", "box");
                SshExecutorConfig cfg = SshExecutorConfig.fromOptions("box", o);
                if (identitiesOnly) {
                    assertThatThrownBy(() -> SshConnection.open(cfg, paths).close())
                            .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.AUTH_FAILED))
                            .hasMessageContaining(stranger.toString())
                            .hasMessageContaining("ssh-agent at " + agent.socket());
                } else {
                    try (SshConnection c = SshConnection.open(cfg, paths)) {
                        assertThat(whoami(c)).isEqualTo(sshd.user);
                    }
                }
            }
        }
    }

    @Test
    void aPassphraseKeyWithoutAgentOrTerminalFailsSayingWhichKeyAndTheFix() throws Exception {
        SshPaths paths = sshd.paths(sshd.knownHostsLine());
        assertThat(paths.agentSocket()).isNull();
        assertThatThrownBy(() -> SshConnection.open(config(lockedKey), paths).close())
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.BAD_IDENTITY))
                .hasMessageContaining(lockedKey.toString())
                .hasMessageContaining("protected by a passphrase")
                .hasMessageContaining("ssh-add " + lockedKey)
                .hasMessageContaining("a key without a passphrase")
                .hasMessageContaining(sshd.user + "@127.0.0.1:" + sshd.port)
                .satisfies(e -> assertThat(chain(e)).doesNotContain(PASSPHRASE));
    }

    @Test
    void aPassphraseKeyIsSkippedWhenAnotherKeyWorks() throws Exception {
        SshPaths paths = sshd.paths(sshd.knownHostsLine());
        Files.writeString(paths.configFile(), String.join("\n",
                "Host box",
                "  HostName 127.0.0.1",
                "  Port " + sshd.port,
                "  IdentityFile " + lockedKey,
                "  IdentityFile " + sshd.clientKey,
                ""));
        try (SshConnection c = SshConnection.open(SshExecutorConfig.fromOptions("box", new ObjectMapper().createObjectNode().put("host", "box")), paths)) {
            assertThat(whoami(c)).isEqualTo(sshd.user);
        }
    }

    @Test
    void aStaleAgentSocketFallsBackToTheKeyFile() throws Exception {
        SshPaths paths = sshd.paths(sshd.knownHostsLine()).withAgentSocket(sshd.dir.resolve("no-agent.sock"));
        try (SshConnection c = SshConnection.open(config(sshd.clientKey), paths)) {
            assertThat(whoami(c)).isEqualTo(sshd.user);
        }
    }

    @Test
    void anAgentWhoseKeysAreRefusedIsNamedInTheError() throws Exception {
        Path stranger = SshdFixture.keygen(Files.createTempDirectory(sshd.dir, "stranger"), "stranger_ed25519");
        try (SshAgentProcess agent = SshAgentProcess.start(sshd.dir)) {
            agent.add(stranger, null);
            SshPaths paths = sshd.paths(sshd.knownHostsLine()).withAgentSocket(agent.socket());
            assertThatThrownBy(() -> SshConnection.open(config(null), paths).close())
                    .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.AUTH_FAILED))
                    .hasMessageContaining("authentication failed for " + sshd.user + "@127.0.0.1:" + sshd.port)
                    .hasMessageContaining("the keys of ssh-agent at " + agent.socket());
        }
    }

    @Test
    void noAgentAndNoKeySaysHowToGetOne() throws Exception {
        SshPaths paths = sshd.paths(sshd.knownHostsLine());
        assertThatThrownBy(() -> SshConnection.open(config(null), paths).close())
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.BAD_IDENTITY))
                .hasMessageContaining("SSH_AUTH_SOCK is not set")
                .hasMessageContaining("ssh-keygen -t ed25519");
    }

    private static String chain(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t).append('\n');
        }
        return sb.toString();
    }
}
