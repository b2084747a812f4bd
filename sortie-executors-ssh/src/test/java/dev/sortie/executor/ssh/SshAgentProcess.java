package dev.sortie.executor.ssh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH {@code ssh-agent} for tests ({@code ssh-agent -D -a SOCKET}), its socket in a folder of the test's,
 * keys added with the real {@code ssh-add} (a passphrase is given through SSH_ASKPASS, as a desktop would).
 */
final class SshAgentProcess implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path dir;

    private SshAgentProcess(Process process, Path socket, Path dir) {
        this.process = process;
        this.socket = socket;
        this.dir = dir;
    }

    static SshAgentProcess start(Path parent) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory(parent, "agent");
        Path socket = dir.resolve("agent.sock"); // unix socket paths are limited to ~108 bytes: keep it short
        Process p = new ProcessBuilder("ssh-agent", "-D", "-a", socket.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("ssh-agent did not start: " + Files.readString(dir.resolve("agent.log")));
            }
            Thread.sleep(20);
        }
        return new SshAgentProcess(p, socket, dir);
    }

    Path socket() {
        return socket;
    }

    /** {@code ssh-add KEY}, answering its passphrase prompt with {@code passphrase} (null: the key has none). */
    void add(Path key, String passphrase) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("ssh-add", key.toString()).redirectErrorStream(true);
        pb.environment().put("SSH_AUTH_SOCK", socket.toString());
        pb.environment().remove("DISPLAY");
        if (passphrase != null) {
            Path askpass = dir.resolve("askpass.sh");
            Files.writeString(askpass, "#!/bin/sh\nprintf '%s\\n' \"$SORTIE_TEST_PASSPHRASE\"\n");
            Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
            pb.environment().put("SSH_ASKPASS", askpass.toString());
            pb.environment().put("SSH_ASKPASS_REQUIRE", "force");
            pb.environment().put("SORTIE_TEST_PASSPHRASE", passphrase);
        }
        Process p = pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("ssh-add " + key + " failed: " + out);
        }
    }

    /** The agent's keys as {@code ssh-add -l} lists them (fingerprints). */
    String list() throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("ssh-add", "-l").redirectErrorStream(true);
        pb.environment().put("SSH_AUTH_SOCK", socket.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
