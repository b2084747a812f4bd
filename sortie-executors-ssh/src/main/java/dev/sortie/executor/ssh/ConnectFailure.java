package dev.sortie.executor.ssh;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.sshd.client.config.hosts.HostConfigEntry;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.session.ClientSession;

/**
 * Turns a failed connection attempt into an {@link SshConnectionException} a user can act on: which host (the
 * executor's, or the ProxyJump host in front of it), what happened, and what to do. Never carries a passphrase.
 */
final class ConnectFailure {
    private static final System.Logger LOG = System.getLogger(ConnectFailure.class.getName());
    private final SshTarget target;
    private final SshPaths paths;
    private final HostConfigEntryResolver resolver;
    private final HostKeyChecker checker;
    private final IdentityFiles files;
    private final UnixSocketAgentFactory agent;

    ConnectFailure(SshTarget target, SshPaths paths, HostConfigEntryResolver resolver, HostKeyChecker checker, IdentityFiles files,
            UnixSocketAgentFactory agent) {
        this.target = target;
        this.paths = paths;
        this.resolver = resolver;
        this.checker = checker;
        this.files = files;
        this.agent = agent;
    }

    /** @param session the executor's host's session, null when the connection (or a jump host) failed before it */
    SshConnectionException explain(ClientSession session, Exception e) {
        if (checker.rejection() != null) {
            SshConnectionException r = checker.rejection(); // names the host whose key it was, jump host or not
            return new SshConnectionException(r.sshKind(), r.getMessage(), e);
        }
        String where = target.display() + (target.proxyJump() != null ? " via ProxyJump " + target.proxyJump() : "");
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        // with ProxyJump, this machine opens a socket to the first jump host only: a refused or unknown host is that one
        if (target.proxyJump() != null && (root instanceof ConnectException || root instanceof NoRouteToHostException
                || root instanceof UnknownHostException || root instanceof SocketTimeoutException)) {
            Hop jump = firstJump();
            return new SshConnectionException(root instanceof SocketTimeoutException ? SshConnectionException.Kind.TIMEOUT
                    : SshConnectionException.Kind.UNREACHABLE, "cannot connect to the jump host " + jump.display() + " (ProxyJump of "
                    + target.alias() + "): " + root.getMessage() + "; is it up and sshd listening on port " + jump.port
                    + "? check ProxyJump (and the jump host's HostName/Port) in " + paths.configFile(), e);
        }
        if (root instanceof ConnectException || root instanceof NoRouteToHostException) {
            return new SshConnectionException(SshConnectionException.Kind.UNREACHABLE, "cannot connect to " + where + ": "
                    + root.getMessage() + " (is the host up and sshd listening on port " + target.port() + "? check 'host:' and 'port:')", e);
        }
        if (root instanceof UnknownHostException) {
            return new SshConnectionException(SshConnectionException.Kind.UNREACHABLE, "cannot connect to " + where
                    + ": unknown host '" + target.hostName() + "' (neither a resolvable name nor a Host alias in " + paths.configFile() + ")", e);
        }
        if (root instanceof SocketTimeoutException || message.contains("timeout") || message.contains("timed out")) {
            return new SshConnectionException(SshConnectionException.Kind.TIMEOUT, "cannot connect to " + where
                    + ": timed out (" + e.getMessage() + "); is the host reachable? raise 'connect_timeout:' for slow links", e);
        }
        if (target.proxyJump() != null && (session == null || session.getServerVersion() == null)) {
            return jumpFailed(session, e);
        }
        if (session != null && !session.isAuthenticated() && (session.isOpen() || message.contains("authentication"))) {
            return authFailed(where, e);
        }
        return new SshConnectionException(SshConnectionException.Kind.OTHER, "ssh to " + where + " failed: " + e, e);
    }

    private SshConnectionException authFailed(String where, Exception e) {
        List<Path> locked = files.skippedKeys();
        String agentNote = agent != null && agent.unreachable() != null ? " (" + agent.unreachable() + ")" : "";
        if (!locked.isEmpty()) {
            List<Path> others = new ArrayList<>(target.identities());
            others.removeIf(p -> locked.contains(p.toAbsolutePath().normalize()));
            String tried = offered(others);
            return new SshConnectionException(SshConnectionException.Kind.BAD_IDENTITY, "cannot log in to " + where + ": "
                    + String.join("; ", files.problems()) + ". Add it to ssh-agent (ssh-add "
                    + locked.stream().map(Path::toString).collect(Collectors.joining(" ")) + "; Sortie finds the agent through "
                    + "SSH_AUTH_SOCK), or use a key without a passphrase" + (tried == null ? "" : "; " + tried + " did not work either")
                    + agentNote, e);
        }
        String tried = offered(target.identities());
        String copyId = "ssh-copy-id " + (target.identities().isEmpty() ? "" : "-i " + target.identities().get(0) + ".pub ")
                + "-p " + target.port() + " " + target.user() + "@" + target.hostName();
        return new SshConnectionException(SshConnectionException.Kind.AUTH_FAILED, "authentication failed for " + where
                + ": " + (tried == null ? "no key could be offered" : "the host refused " + tried) + agentNote + ". Add the public key to ~"
                + target.user() + "/.ssh/authorized_keys on the host (" + copyId + "), or set 'user:'/'identity:' on the executor. ("
                + e.getMessage() + ")", e);
    }

    /** "the keys of ssh-agent at S and the key(s) A, B", or null when nothing was offered. */
    private String offered(List<Path> identities) {
        List<String> parts = new ArrayList<>();
        if (agent != null && agent.unreachable() == null) {
            parts.add("the keys of ssh-agent at " + agent.socket());
        }
        if (!identities.isEmpty()) {
            parts.add("the key(s) " + identities.stream().map(Path::toString).collect(Collectors.joining(", ")));
        }
        return parts.isEmpty() ? null : String.join(" and ", parts);
    }

    /**
     * The jump host took the connection but what came after failed: logging in to it (no session to the target yet),
     * or reaching the target from it (the target's session never heard an ssh banner through the tunnel).
     */
    private SshConnectionException jumpFailed(ClientSession session, Exception e) {
        Hop jump = firstJump();
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (session != null) {
            return new SshConnectionException(SshConnectionException.Kind.UNREACHABLE, "the jump host " + jump.display()
                    + " could not connect to " + target.hostName() + ":" + target.port() + " for " + target.alias()
                    + "; is that host up and sshd listening there, as seen from the jump host? check HostName/Port of " + target.alias()
                    + " in " + paths.configFile() + " (" + e.getMessage() + ")", e);
        }
        if (message.contains("auth") || message.contains("no more")) {
            String locked = files.problems().isEmpty() ? "" : "; " + String.join("; ", files.problems())
                    + " (add it to ssh-agent with ssh-add, or use a key without a passphrase)";
            return new SshConnectionException(SshConnectionException.Kind.AUTH_FAILED, "authentication failed for the jump host "
                    + jump.display() + " (ProxyJump of " + target.alias() + "): " + offeredToJump(jump) + locked
                    + ". Add your public key to ~/.ssh/authorized_keys there, or set IdentityFile/User for it in " + paths.configFile()
                    + ". (" + e.getMessage() + ")", e);
        }
        return new SshConnectionException(SshConnectionException.Kind.OTHER, "ssh to the jump host " + jump.display() + " (ProxyJump of "
                + target.alias() + ") failed: " + e, e);
    }

    private String offeredToJump(Hop jump) {
        List<Path> ids = new ArrayList<>(jump.identities);
        if (ids.isEmpty() && paths.sshDir() != null) {
            SshPaths.DEFAULT_IDENTITIES.stream().map(paths.sshDir()::resolve).filter(Files::isRegularFile).forEach(ids::add);
        }
        String tried = offered(ids);
        return tried == null ? "no key could be offered" : "it refused " + tried;
    }

    /** The first ProxyJump host as it is reached ({@code [user@]host[:port]}, through the ssh config like ssh does). */
    private Hop firstJump() {
        String spec = target.proxyJump().split(",")[0].trim();
        URI uri = URI.create(spec.contains("://") ? spec : "ssh://" + spec);
        String alias = uri.getHost() != null ? uri.getHost() : spec;
        try {
            HostConfigEntry e = resolver.resolveEffectiveHost(alias, Math.max(uri.getPort(), 0), null, uri.getUserInfo(), null, null);
            if (e != null) {
                List<Path> ids = e.getIdentities().stream().map(paths::expand).toList();
                return new Hop(alias, e.getHostName(), e.getPort() > 0 ? e.getPort() : 22, e.getUsername(), ids);
            }
        } catch (IOException | RuntimeException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "~/.ssh/config could not be read for {0}; described from the spec alone: {1}", alias, ignored);
            // described from the spec alone
        }
        return new Hop(alias, alias, uri.getPort() > 0 ? uri.getPort() : 22, uri.getUserInfo(), List.of());
    }

    private record Hop(String alias, String hostName, int port, String user, List<Path> identities) {
        String display() {
            String s = (user == null ? "" : user + "@") + hostName + ":" + port;
            return alias.equals(hostName) ? s : s + " (" + alias + ")";
        }
    }
}
