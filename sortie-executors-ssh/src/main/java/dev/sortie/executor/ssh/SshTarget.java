package dev.sortie.executor.ssh;

import java.nio.file.Path;
import java.util.List;
import org.apache.sshd.client.config.hosts.HostConfigEntry;

/**
 * Where an ssh executor connects once the executor's options and the ssh config are combined.
 *
 * @param alias      the name given as {@code host:} (a {@code Host} alias or a real host name)
 * @param hostName   the host name or address actually connected to
 * @param identities private keys offered, in order
 * @param proxyJump  OpenSSH {@code ProxyJump} hosts ({@code [user@]host[:port],...}), or null
 */
public record SshTarget(String alias, String hostName, int port, String user, List<Path> identities, String proxyJump) {

    public SshTarget {
        identities = List.copyOf(identities);
    }

    /** {@code user@host:port}, with the alias when it differs. */
    public String display() {
        String s = user + "@" + hostName + ":" + port;
        return alias.equals(hostName) ? s : s + " (" + alias + ")";
    }

    /** How the host appears in known_hosts: {@code host}, or {@code [host]:port} off port 22. */
    public static String knownHostsName(String host, int port) {
        return port == 22 ? host : "[" + host + "]:" + port;
    }

    HostConfigEntry toHostConfigEntry() {
        HostConfigEntry e = new HostConfigEntry(alias, hostName, port, user, proxyJump);
        for (Path p : identities) {
            e.addIdentity(p);
        }
        // ssh-config semantics: offer exactly the keys named (or the defaults), not a global key provider's too
        e.setIdentitiesOnly(true);
        return e;
    }
}
