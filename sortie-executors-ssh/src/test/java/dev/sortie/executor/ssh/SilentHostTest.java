package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host that accepts the TCP connection and never says a word (no SSH banner): it fails in one connect_timeout. */
class SilentHostTest {
    @TempDir
    Path tmp;

    @Test
    void aHostThatAcceptsButNeverSpeaksSshFailsWithinOneConnectTimeoutAndSaysSo() throws Exception {
        List<Socket> held = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // and say nothing
                    }
                } catch (java.io.IOException e) {
                    // closed at the end of the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            Path ssh = Files.createDirectories(tmp.resolve(".ssh"));
            Path key = ssh.resolve("id_test");
            Files.writeString(key, "not read: the host never gets as far as asking for a key\n");
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("type", "ssh").put("host", "127.0.0.1").put("port", silent.getLocalPort()).put("identity", key.toString())
                    .put("connect_timeout", "2s");
            SshExecutorConfig config = SshExecutorConfig.fromOptions("silent", o);
            SshPaths paths = new SshPaths(tmp, ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), "someone");

            long start = System.nanoTime();
            assertThatThrownBy(() -> SshConnection.open(config, paths, false))
                    .isInstanceOf(SshConnectionException.class)
                    .satisfies(e -> assertThat(((SshConnectionException) e).sshKind()).isEqualTo(SshConnectionException.Kind.TIMEOUT))
                    .hasMessageContaining("127.0.0.1:" + silent.getLocalPort())
                    .hasMessageContaining("never spoke SSH");
            double seconds = (System.nanoTime() - start) / 1e9;
            // not a benchmark: the timeout must not be spent twice (it was 2x more: the login's own timeout, after the connect)
            assertThat(seconds).isLessThan(2 * 1.5 + 1);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
