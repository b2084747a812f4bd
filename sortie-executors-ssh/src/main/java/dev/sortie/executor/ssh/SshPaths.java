package dev.sortie.executor.ssh;

import java.nio.file.Path;
import java.util.List;

/**
 * Where the SSH client's local files are: the OpenSSH client's own ({@code ~/.ssh/config}, {@code ~/.ssh/known_hosts},
 * the default identities) unless a test or a server points elsewhere.
 *
 * @param home       the local home folder ({@code ~} in paths)
 * @param sshDir     the folder of the default identities ({@code ~/.ssh})
 * @param configFile the ssh client config with {@code Host} aliases ({@code ~/.ssh/config}); may be absent
 * @param knownHosts the known_hosts file host keys are checked against and appended to ({@code ~/.ssh/known_hosts})
 * @param localUser  the user name used when neither the executor nor the ssh config names one
 * @param agentSocket the ssh-agent's unix socket ({@code $SSH_AUTH_SOCK}), or null for no agent
 */
public record SshPaths(Path home, Path sshDir, Path configFile, Path knownHosts, String localUser, Path agentSocket) {

    /** The default identity file names, in the order OpenSSH tries them. */
    public static final List<String> DEFAULT_IDENTITIES = List.of("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk");

    /** Without an agent: what tests and servers get unless they ask for one ({@link #withAgentSocket}). */
    public SshPaths(Path home, Path sshDir, Path configFile, Path knownHosts, String localUser) {
        this(home, sshDir, configFile, knownHosts, localUser, null);
    }

    /** The OpenSSH client's files, and the agent that {@code SSH_AUTH_SOCK} names, if any. */
    public static SshPaths defaults() {
        Path home = Path.of(System.getProperty("user.home"));
        // SORTIE_SSH_DIR (or -Dsortie.ssh.dir) points sortie at another ssh folder (config, known_hosts, keys):
        // for tests and CI jobs that must not touch the user's own.
        String override = System.getProperty("sortie.ssh.dir", System.getenv("SORTIE_SSH_DIR"));
        Path ssh = override == null || override.isBlank() ? home.resolve(".ssh") : Path.of(override);
        String sock = System.getenv("SSH_AUTH_SOCK");
        return new SshPaths(home, ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), System.getProperty("user.name"),
                sock == null || sock.isBlank() ? null : Path.of(sock));
    }

    /** The same paths with another ssh-agent socket (null: none). */
    public SshPaths withAgentSocket(Path socket) {
        return new SshPaths(home, sshDir, configFile, knownHosts, localUser, socket);
    }

    /** A path from config: {@code ~} and {@code ~/...} are the local home; relative paths are kept as they are. */
    public Path expand(String path) {
        if (path.equals("~")) {
            return home;
        }
        if (path.startsWith("~/")) {
            return home.resolve(path.substring(2));
        }
        return Path.of(path);
    }
}
