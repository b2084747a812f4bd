package dev.sortie.executor.ssh;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.ConfigFileHostEntryResolver;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * One SSH connection to an executor's host, with Apache MINA SSHD: its own client, host keys checked against
 * known_hosts (see {@link HostKeyChecker}), public-key authentication with the target's identities, keepalives
 * (OpenSSH's {@code keepalive@openssh.com}; the connection is dropped after 4 unanswered ones), and commands whose
 * arguments are quoted for the remote POSIX shell.
 */
public final class SshConnection implements AutoCloseable {
    private static final int KEEPALIVE_MAX_MISSED = 4;
    private final SshTarget target;
    private final SshClient client;
    private final ClientSession session;

    private SshConnection(SshTarget target, SshClient client, ClientSession session) {
        this.target = target;
        this.client = client;
        this.session = session;
    }

    /** What a command did: its exit code (null if the host sent none, e.g. killed by a signal) and its output. */
    public record Result(Integer exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode != null && exitCode == 0;
        }
    }

    /** Connects and authenticates, or fails with an {@link SshConnectionException} that says what to fix. */
    public static SshConnection open(SshExecutorConfig config, SshPaths paths) throws SshConnectionException {
        SshTarget target = config.resolve(paths);
        for (Path id : target.identities()) {
            if (config.identity() != null && !Files.isReadable(id)) {
                throw new SshConnectionException(SshConnectionException.Kind.BAD_IDENTITY, "executor '" + config.name()
                        + "': identity " + id + " does not exist or cannot be read; fix 'identity:' or create the key with "
                        + "ssh-keygen -t ed25519 -f " + id, null);
            }
        }
        if (target.identities().isEmpty()) {
            throw new SshConnectionException(SshConnectionException.Kind.BAD_IDENTITY, "no private key to log in to "
                    + target.display() + " with: set 'identity:' on the executor or IdentityFile in " + paths.configFile()
                    + ", or create a key with ssh-keygen -t ed25519 (then ssh-copy-id " + target.user() + "@" + target.hostName()
                    + "). (ssh-agent is not used yet.)", null);
        }
        HostKeyChecker checker = new HostKeyChecker(paths.knownHosts(), config.acceptNewHostKey());
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(checker);
        client.setHostConfigEntryResolver(paths.configFile() != null && Files.isRegularFile(paths.configFile())
                ? new ConfigFileHostEntryResolver(paths.configFile()) : HostConfigEntryResolver.EMPTY);
        client.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
        CoreModuleProperties.IO_CONNECT_TIMEOUT.set(client, config.connectTimeout());
        CoreModuleProperties.AUTH_TIMEOUT.set(client, config.connectTimeout().multipliedBy(2));
        if (!config.keepalive().isZero()) {
            CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, config.keepalive());
            CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, KEEPALIVE_MAX_MISSED);
            // with keepalives on, an idle connection is kept (the heartbeat answers tell it is alive)
            CoreModuleProperties.IDLE_TIMEOUT.set(client, Duration.ZERO);
        }
        client.start();
        ClientSession session = null;
        try {
            session = client.connect(target.toHostConfigEntry(), null, null).verify(config.connectTimeout()).getSession();
            session.auth().verify(config.connectTimeout().multipliedBy(2));
            return new SshConnection(target, client, session);
        } catch (IOException | RuntimeException e) {
            SshConnectionException clear = explain(target, checker, session, e, paths);
            if (session != null) {
                session.close(true);
            }
            client.stop();
            throw clear;
        }
    }

    private static SshConnectionException explain(SshTarget t, HostKeyChecker checker, ClientSession session, Exception e, SshPaths paths) {
        if (checker.rejection() != null) {
            SshConnectionException r = checker.rejection();
            return new SshConnectionException(r.kind(), r.getMessage(), e);
        }
        String where = t.display() + (t.proxyJump() != null ? " via ProxyJump " + t.proxyJump() : "");
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof ConnectException || root instanceof NoRouteToHostException) {
            return new SshConnectionException(SshConnectionException.Kind.UNREACHABLE, "cannot connect to " + where + ": "
                    + root.getMessage() + " (is the host up and sshd listening on port " + t.port() + "? check 'host:' and 'port:')", e);
        }
        if (root instanceof UnknownHostException) {
            return new SshConnectionException(SshConnectionException.Kind.UNREACHABLE, "cannot connect to " + where
                    + ": unknown host '" + t.hostName() + "' (neither a resolvable name nor a Host alias in " + paths.configFile() + ")", e);
        }
        if (root instanceof SocketTimeoutException || String.valueOf(e.getMessage()).toLowerCase().contains("timeout")
                || String.valueOf(e.getMessage()).toLowerCase().contains("timed out")) {
            return new SshConnectionException(SshConnectionException.Kind.TIMEOUT, "cannot connect to " + where
                    + ": timed out (" + e.getMessage() + "); is the host reachable? raise 'connect_timeout:' for slow links", e);
        }
        if (session != null && session.isOpen() && !session.isAuthenticated()) {
            String keys = t.identities().stream().map(Path::toString).collect(Collectors.joining(", "));
            return new SshConnectionException(SshConnectionException.Kind.AUTH_FAILED, "authentication failed for " + where
                    + ": the host refused the key(s) " + keys + ". Add the public key to ~" + t.user()
                    + "/.ssh/authorized_keys on the host (ssh-copy-id -i " + (t.identities().isEmpty() ? "KEY" : t.identities().get(0))
                    + ".pub -p " + t.port() + " " + t.user() + "@" + t.hostName() + "), or set 'user:'/'identity:' on the executor. ("
                    + e.getMessage() + ")", e);
        }
        if (session != null && !session.isAuthenticated() && String.valueOf(e.getMessage()).contains("authentication")) {
            return new SshConnectionException(SshConnectionException.Kind.AUTH_FAILED, "authentication failed for " + where
                    + ": " + e.getMessage(), e);
        }
        return new SshConnectionException(SshConnectionException.Kind.OTHER, "ssh to " + where + " failed: " + e, e);
    }

    public SshTarget target() {
        return target;
    }

    public boolean isOpen() {
        return session.isOpen() && session.isAuthenticated();
    }

    /** Runs {@code argv} on the host, each argument quoted so it arrives literally; no stdin. */
    public Result exec(List<String> argv, Duration timeout) throws IOException {
        return execLine(ShellQuote.join(argv), timeout);
    }

    /** Runs a POSIX sh script on the host ({@code sh -c SCRIPT}, whatever the user's login shell parses it as). */
    public Result script(String script, Duration timeout) throws IOException {
        return exec(List.of("sh", "-c", script), timeout);
    }

    /** Runs a command line as the remote login shell parses it; callers must quote (see {@link ShellQuote}). */
    Result execLine(String commandLine, Duration timeout) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ChannelExec ch = session.createExecChannel(commandLine)) {
            ch.setIn(new ByteArrayInputStream(new byte[0]));
            ch.setOut(out);
            ch.setErr(err);
            ch.open().verify(timeout);
            Set<ClientChannelEvent> ev = ch.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
            if (ev.contains(ClientChannelEvent.TIMEOUT)) {
                throw new SshConnectionException(SshConnectionException.Kind.TIMEOUT, "command on " + target.display()
                        + " did not finish within " + timeout.toSeconds() + "s: " + abbreviate(commandLine), null);
            }
            return new Result(ch.getExitStatus(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (SshConnectionException e) {
            throw e;
        } catch (IOException e) {
            if (!session.isOpen()) {
                throw new SshConnectionException(SshConnectionException.Kind.DISCONNECTED, "lost the connection to "
                        + target.display() + " while running " + abbreviate(commandLine) + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    @Override
    public void close() {
        try {
            session.close(false).await(Duration.ofSeconds(5));
        } catch (IOException e) {
            // closing anyway
        } finally {
            client.stop();
        }
    }
}
