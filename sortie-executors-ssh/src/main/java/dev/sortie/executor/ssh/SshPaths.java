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
 */
public record SshPaths(Path home, Path sshDir, Path configFile, Path knownHosts, String localUser) {

    /** The default identity file names, in the order OpenSSH tries them. */
    public static final List<String> DEFAULT_IDENTITIES = List.of("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk");

    public static SshPaths defaults() {
        Path home = Path.of(System.getProperty("user.home"));
        Path ssh = home.resolve(".ssh");
        return new SshPaths(home, ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), System.getProperty("user.name"));
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
