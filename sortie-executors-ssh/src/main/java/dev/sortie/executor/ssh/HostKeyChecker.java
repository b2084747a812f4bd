package dev.sortie.executor.ssh;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.sshd.client.config.hosts.KnownHostEntry;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.client.session.ClientSessionCreator;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.util.net.SshdSocketAddress;

/**
 * Host keys checked against a known_hosts file, with no silent acceptance: an unknown key is refused unless
 * {@code acceptNew} (then appended to the file, like {@code StrictHostKeyChecking=accept-new}); a changed or revoked
 * key is always refused. Why a key was refused is kept for the error message ({@link #rejection()}).
 */
final class HostKeyChecker extends KnownHostsServerKeyVerifier {
    private final Path knownHosts;
    private final AtomicReference<SshConnectionException> rejection = new AtomicReference<>();

    HostKeyChecker(Path knownHosts, boolean acceptNew) {
        super((session, remote, key) -> acceptNew, knownHosts);
        this.knownHosts = knownHosts;
        // the delegate above only sees unknown keys; refusing one is recorded here, after the fact
        setModifiedServerKeyAcceptor(this::refuseModified);
    }

    SshConnectionException rejection() {
        return rejection.get();
    }

    @Override
    protected boolean acceptUnknownHostKey(ClientSession session, SocketAddress remote, PublicKey key) {
        boolean ok = super.acceptUnknownHostKey(session, remote, key);
        if (!ok) {
            String host = hostOf(session, remote);
            rejection.compareAndSet(null, new SshConnectionException(SshConnectionException.Kind.HOST_KEY_UNKNOWN,
                    "the host key of " + host + " is not known: " + KeyUtils.getKeyType(key) + " key " + KeyUtils.getFingerPrint(key)
                            + " is not in " + knownHosts + ". Check the fingerprint with the host's administrator (on the host: "
                            + "ssh-keygen -lf /etc/ssh/ssh_host_" + keyFileType(key) + "_key.pub), then accept it once: "
                            + "set 'accept_new_host_key: true' on the executor (or `ssh -p " + portOf(session, remote) + " "
                            + hostNameOf(session, remote) + "` and answer yes), which adds it to " + knownHosts, null));
        }
        return ok;
    }

    private boolean refuseModified(ClientSession session, SocketAddress remote, KnownHostEntry entry, PublicKey expected, PublicKey actual) {
        String host = hostOf(session, remote);
        String line = entry == null ? "" : " (entry '" + entry.getConfigLine().split("\\s+")[0] + "')";
        rejection.compareAndSet(null, new SshConnectionException(SshConnectionException.Kind.HOST_KEY_CHANGED,
                "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for " + host + "! Someone could be intercepting the connection "
                        + "(man-in-the-middle), or the host was reinstalled and has a new key. " + knownHosts + line + " has "
                        + KeyUtils.getKeyType(expected) + " key " + KeyUtils.getFingerPrint(expected) + "; the host offered "
                        + KeyUtils.getKeyType(actual) + " key " + KeyUtils.getFingerPrint(actual) + ". Connection refused. "
                        + "If you have confirmed the new key with the host's administrator, remove the old one with "
                        + "`ssh-keygen -R '" + SshTarget.knownHostsName(hostNameOf(session, remote), portOf(session, remote)) + "' -f "
                        + knownHosts + "` and connect again with 'accept_new_host_key: true'.", null));
        return false;
    }

    /**
     * Behind a ProxyJump the session's own addresses are a local tunnel's (a random port); only the real target is
     * matched against known_hosts and written there, or a tunnel port could end up trusted for whichever host it
     * reaches next.
     */
    @Override
    protected Collection<SshdSocketAddress> resolveHostNetworkIdentities(ClientSession session, SocketAddress remote) {
        SshdSocketAddress target = session.getAttribute(ClientSessionCreator.TARGET_SERVER);
        return target != null ? List.of(target) : super.resolveHostNetworkIdentities(session, remote);
    }

    @Override
    protected void handleRevokedKey(ClientSession session, SocketAddress remote, PublicKey key) {
        rejection.compareAndSet(null, new SshConnectionException(SshConnectionException.Kind.HOST_KEY_REVOKED,
                "the host key of " + hostOf(session, remote) + " (" + KeyUtils.getFingerPrint(key) + ") is marked @revoked in "
                        + knownHosts + "; connection refused", null));
        super.handleRevokedKey(session, remote, key);
    }

    /**
     * The host as the user named it: behind a ProxyJump the session's connect address is a local tunnel port, and the
     * real target is the TARGET_SERVER attribute MINA sets on it.
     */
    private static SocketAddress addressOf(ClientSession session, SocketAddress remote) {
        SshdSocketAddress target = session.getAttribute(ClientSessionCreator.TARGET_SERVER);
        if (target != null) {
            return target;
        }
        return session.getConnectAddress() != null ? session.getConnectAddress() : remote;
    }

    private static String hostNameOf(ClientSession session, SocketAddress remote) {
        SocketAddress a = addressOf(session, remote);
        if (a instanceof SshdSocketAddress s) {
            return s.getHostName();
        }
        if (a instanceof InetSocketAddress i) {
            return i.getHostString();
        }
        return String.valueOf(a);
    }

    private static int portOf(ClientSession session, SocketAddress remote) {
        SocketAddress a = addressOf(session, remote);
        if (a instanceof SshdSocketAddress s) {
            return s.getPort();
        }
        if (a instanceof InetSocketAddress i) {
            return i.getPort();
        }
        return 22;
    }

    private static String hostOf(ClientSession session, SocketAddress remote) {
        return SshTarget.knownHostsName(hostNameOf(session, remote), portOf(session, remote));
    }

    private static String keyFileType(PublicKey key) {
        String t = KeyUtils.getKeyType(key);
        if (t.contains("ed25519")) {
            return "ed25519";
        }
        if (t.startsWith("ecdsa")) {
            return "ecdsa";
        }
        return "rsa";
    }
}
