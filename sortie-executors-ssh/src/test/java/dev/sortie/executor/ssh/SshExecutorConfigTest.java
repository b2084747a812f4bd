package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshExecutorConfigTest {
    @TempDir
    Path tmp;

    private static SshExecutorConfig parse(String yaml) throws Exception {
        JsonNode n = new YAMLMapper().readTree(yaml);
        return SshExecutorConfig.fromOptions("gpu1", n);
    }

    private SshPaths paths(String sshConfig) throws Exception {
        Path ssh = Files.createDirectories(tmp.resolve("home/.ssh"));
        if (sshConfig != null) {
            Files.writeString(ssh.resolve("config"), sshConfig);
        }
        return new SshPaths(tmp.resolve("home"), ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), "me");
    }

    @Test
    void defaults() throws Exception {
        SshExecutorConfig c = parse("{type: ssh, host: gpu1.example.org}");
        assertThat(c.host()).isEqualTo("gpu1.example.org");
        assertThat(c.port()).isNull();
        assertThat(c.user()).isNull();
        assertThat(c.identity()).isNull();
        assertThat(c.acceptNewHostKey()).isFalse();
        assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(c.keepalive()).isEqualTo(Duration.ofSeconds(15));
        SshTarget t = c.resolve(paths(null));
        assertThat(t).isEqualTo(new SshTarget("gpu1.example.org", "gpu1.example.org", 22, "me", List.of(), null));
    }

    @Test
    void allOptions() throws Exception {
        SshExecutorConfig c = parse("{type: ssh, host: 10.0.0.7, port: 2222, user: alice, identity: ~/.ssh/lab,"
                + " accept_new_host_key: true, connect_timeout: 1m, keepalive: 0}");
        assertThat(c).isEqualTo(new SshExecutorConfig("gpu1", "10.0.0.7", 2222, "alice", "~/.ssh/lab", true, Duration.ofMinutes(1), Duration.ZERO,
                SshExecutorConfig.DEFAULT_REMOTE_DIR, SshExecutorConfig.DEFAULT_LOST_AFTER));
        SshPaths p = paths(null);
        assertThat(c.resolve(p).identities()).containsExactly(p.home().resolve(".ssh/lab"));
        assertThat(parse("{host: h, port: '2200'}").port()).isEqualTo(2200);
    }

    @Test
    void mistakesNameTheFieldAndWhatIsValid() {
        assertThatThrownBy(() -> parse("{type: ssh}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpu1.host': required");
        assertThatThrownBy(() -> SshExecutorConfig.fromOptions("gpu1", null)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("needs options, at least 'host:'");
        assertThatThrownBy(() -> parse("{host: h, prot: 22}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpu1.prot': unknown field; did you mean 'port'?")
                .hasMessageContaining("host, port, user, identity, accept_new_host_key, connect_timeout, keepalive");
        assertThatThrownBy(() -> parse("{host: h, port: 70000}")).hasMessageContaining("'executors.gpu1.port': expected a port number from 1 to 65535, got 70000");
        assertThatThrownBy(() -> parse("{host: h, port: twenty}")).hasMessageContaining("'executors.gpu1.port': expected a port number");
        assertThatThrownBy(() -> parse("{host: me@h}")).hasMessageContaining("'executors.gpu1.host'").hasMessageContaining("put the user in 'user:'");
        assertThatThrownBy(() -> parse("{host: '-oProxyCommand=x'}")).hasMessageContaining("cannot start with '-'");
        assertThatThrownBy(() -> parse("{host: h, user: 'a b'}")).hasMessageContaining("'executors.gpu1.user'");
        assertThatThrownBy(() -> parse("{host: h, identity: ''}")).hasMessageContaining("'executors.gpu1.identity': expected the path of a private key");
        assertThatThrownBy(() -> parse("{host: h, accept_new_host_key: yes please}")).hasMessageContaining("'executors.gpu1.accept_new_host_key': expected true or false");
        assertThatThrownBy(() -> parse("{host: h, connect_timeout: soon}")).hasMessageContaining("'executors.gpu1.connect_timeout'").hasMessageContaining("not a duration");
        assertThatThrownBy(() -> parse("{host: h, connect_timeout: 0}")).hasMessageContaining("expected a positive duration");
        assertThatThrownBy(() -> parse("{host: [a, b]}")).hasMessageContaining("'executors.gpu1.host': expected a string");
    }

    @Test
    void anSshConfigAliasFillsHostNamePortUserIdentityAndProxyJump() throws Exception {
        SshPaths p = paths(String.join("\n",
                "Host gpu1",
                "  HostName 10.1.2.3",
                "  Port 2022",
                "  User trainer",
                "  IdentityFile ~/.ssh/gpu_key",
                "  ProxyJump bastion.example.org",
                "Host *.lab",
                "  User labuser",
                "Host *",
                "  Port 2200",
                ""));
        SshTarget t = parse("{host: gpu1}").resolve(p);
        // MINA SSHD expands '~' in IdentityFile itself, to the JVM's user.home (the same as SshPaths.defaults())
        Path key = Path.of(System.getProperty("user.home"), ".ssh", "gpu_key");
        assertThat(t).isEqualTo(new SshTarget("gpu1", "10.1.2.3", 2022, "trainer", List.of(key), "bastion.example.org"));
        assertThat(t.display()).isEqualTo("trainer@10.1.2.3:2022 (gpu1)");
        // the executor's options win over the config's, like ssh -p/-l/-i
        SshTarget o = parse("{host: gpu1, port: 23, user: root, identity: /keys/k}").resolve(p);
        assertThat(o).isEqualTo(new SshTarget("gpu1", "10.1.2.3", 23, "root", List.of(Path.of("/keys/k")), "bastion.example.org"));
        // wildcard blocks apply as in ssh (first value wins)
        SshTarget w = parse("{host: box.lab}").resolve(p);
        assertThat(w.hostName()).isEqualTo("box.lab");
        assertThat(w.user()).isEqualTo("labuser");
        assertThat(w.port()).isEqualTo(2200);
        assertThat(w.proxyJump()).isNull();
    }

    @Test
    void withoutAnIdentityTheDefaultKeysThatExistAreOffered() throws Exception {
        SshPaths p = paths(null);
        Files.writeString(p.sshDir().resolve("id_ed25519"), "k");
        Files.writeString(p.sshDir().resolve("id_rsa"), "k");
        assertThat(parse("{host: h}").resolve(p).identities())
                .containsExactly(p.sshDir().resolve("id_rsa"), p.sshDir().resolve("id_ed25519"));
        assertThat(parse("{host: h, identity: /k}").resolve(p).identities()).containsExactly(Path.of("/k"));
    }

    @Test
    void knownHostsNames() {
        assertThat(SshTarget.knownHostsName("h", 22)).isEqualTo("h");
        assertThat(SshTarget.knownHostsName("h", 2222)).isEqualTo("[h]:2222");
        assertThat(new ObjectMapper()).isNotNull();
    }
}
