package dev.sortie.executor.ssh;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real OpenSSH sshd on loopback for tests: its own ed25519 host key, one freshly made client key in its
 * authorized_keys, the current user allowed, everything in a temp folder (never the user's ~/.ssh).
 */
final class SshdFixture implements AutoCloseable {
    static final Path SSHD = Path.of("/usr/sbin/sshd");
    final Path dir;
    final int port;
    final Path hostKey;
    final Path clientKey;
    final String user = System.getProperty("user.name");
    private final Process process;

    private SshdFixture(Path dir, int port, Path hostKey, Path clientKey, Process process) {
        this.dir = dir;
        this.port = port;
        this.hostKey = hostKey;
        this.clientKey = clientKey;
        this.process = process;
    }

    static SshdFixture start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(SSHD) || System.getenv("CI") != null,
                "OpenSSH sshd is not installed (apt-get install -y openssh-server); the ssh integration tests need it");
        Path dir = Files.createTempDirectory("sortie-sshd");
        Path hostKey = keygen(dir, "host_ed25519");
        Path clientKey = keygen(dir, "client_ed25519");
        Path authorized = dir.resolve("authorized_keys");
        Files.copy(Path.of(clientKey + ".pub"), authorized);
        if (isRoot()) {
            Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation folder, as the Debian service makes it
        }
        int port = freePort();
        String user = System.getProperty("user.name");
        Path config = dir.resolve("sshd_config");
        Files.writeString(config, String.join("\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "AuthorizedKeysFile " + authorized,
                "PidFile " + dir.resolve("sshd.pid"),
                "StrictModes no",
                "UsePAM no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "AllowUsers " + user,
                "LogLevel VERBOSE",
                ""));
        Process p = new ProcessBuilder(SSHD.toString(), "-D", "-e", "-f", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("sshd exited with " + p.exitValue() + ": " + Files.readString(dir.resolve("sshd.log")));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("sshd did not listen on " + port + ": " + Files.readString(dir.resolve("sshd.log")));
                }
                Thread.sleep(50);
            }
        }
        return new SshdFixture(dir, port, hostKey, clientKey, p);
    }

    /** A known_hosts line for this sshd's host key, as OpenSSH writes it for a non-22 port. */
    String knownHostsLine() throws IOException {
        return knownHostsLine(Path.of(hostKey + ".pub"));
    }

    String knownHostsLine(Path publicKey) throws IOException {
        String[] f = Files.readString(publicKey).trim().split("\\s+");
        return "[127.0.0.1]:" + port + " " + f[0] + " " + f[1] + "\n";
    }

    /** Paths in a fresh folder: empty ssh dir, no config, known_hosts with {@code knownHosts} (or none when null). */
    SshPaths paths(String knownHosts) throws IOException {
        Path home = Files.createTempDirectory(dir, "home");
        Path ssh = Files.createDirectories(home.resolve(".ssh"));
        if (knownHosts != null) {
            Files.writeString(ssh.resolve("known_hosts"), knownHosts);
        }
        return new SshPaths(home, ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), user);
    }

    String log() throws IOException {
        return Files.readString(dir.resolve("sshd.log"), StandardCharsets.UTF_8);
    }

    static Path keygen(Path dir, String name) throws IOException, InterruptedException {
        Path key = dir.resolve(name);
        Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("ssh-keygen failed: " + out);
        }
        return key;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static List<String> list(String... s) {
        return List.of(s);
    }
}
