package dev.sortie.cli;

import dev.sortie.executor.ssh.SshdFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Real sshd "hosts" for the CLI's tests, and an ssh folder whose known_hosts trusts them. Sortie is pointed at
 * that folder (the {@code sortie.ssh.dir} property in this JVM, {@code SORTIE_SSH_DIR} for the sortie processes a
 * test spawns, see {@link TestProject#processBuilder}), never at the user's own ~/.ssh.
 */
public final class SshHosts implements AutoCloseable {
    static final String PROPERTY = "sortie.ssh.dir";
    public final Path sshDir;
    private final List<SshdFixture> hosts = new ArrayList<>();

    private SshHosts(Path sshDir) {
        this.sshDir = sshDir;
    }

    public static SshHosts start(int count) throws Exception {
        SshHosts h = new SshHosts(Files.createTempDirectory("sortie-test-ssh"));
        Files.writeString(h.sshDir.resolve("known_hosts"), "");
        try {
            for (int i = 0; i < count; i++) {
                h.add();
            }
        } catch (Exception e) {
            h.close();
            throw e;
        }
        System.setProperty(PROPERTY, h.sshDir.toString());
        return h;
    }

    /** One more host, trusted like the others; the caller may close it early (closing this closes it too). */
    SshdFixture add() throws Exception {
        return add(java.util.Map.of());
    }

    /** One more host whose sessions get {@code sessionEnv} (see {@link SshdFixture#start(java.util.Map)}). */
    SshdFixture add(java.util.Map<String, String> sessionEnv) throws Exception {
        SshdFixture f = SshdFixture.start(sessionEnv);
        hosts.add(f);
        Files.writeString(sshDir.resolve("known_hosts"), f.knownHostsLine(), StandardOpenOption.APPEND);
        return f;
    }

    /** One more host whose remote folder is a file system of {@code size} bytes (see {@link SshdFixture#startWithDisk}). */
    SshdFixture addWithDisk(String size) throws Exception {
        SshdFixture f = SshdFixture.startWithDisk(size);
        hosts.add(f);
        Files.writeString(sshDir.resolve("known_hosts"), f.knownHostsLine(), StandardOpenOption.APPEND);
        return f;
    }

    public SshdFixture get(int i) {
        return hosts.get(i);
    }

    /** An ssh executor entry for {@code executors:} in .sortie/config.yaml, indented for it, with extra settings. */
    public static String executor(String name, SshdFixture host, Path remoteDir, String... extra) {
        StringBuilder sb = new StringBuilder("  " + name + ":\n    type: ssh\n    host: 127.0.0.1\n")
                .append("    port: ").append(host.port).append('\n')
                .append("    user: ").append(host.user).append('\n')
                .append("    identity: ").append(host.clientKey).append('\n')
                .append("    remote_dir: ").append(remoteDir).append('\n');
        for (String e : extra) {
            sb.append("    ").append(e).append('\n');
        }
        return sb.toString();
    }

    /** An inline host of a pool's {@code hosts:} list. */
    static String inlineHost(SshdFixture host, Path remoteDir) {
        return "{host: 127.0.0.1, port: " + host.port + ", user: " + host.user + ", identity: " + host.clientKey
                + ", remote_dir: " + remoteDir + "}";
    }

    @Override
    public void close() throws Exception {
        System.clearProperty(PROPERTY);
        // closing a fixture kills whatever runs on that host, detached agents included
        Exception first = null;
        for (SshdFixture f : hosts) {
            try {
                f.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
