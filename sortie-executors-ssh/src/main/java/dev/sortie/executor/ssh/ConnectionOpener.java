package dev.sortie.executor.ssh;

import java.io.Console;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.config.hosts.ConfigFileHostEntryResolver;
import org.apache.sshd.client.config.hosts.HostConfigEntry;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.config.keys.ClientIdentityLoader;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.util.io.resource.PathResource;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * Opens an {@link SshConnection} the way {@code ssh} would: the ssh config, strict known_hosts, ProxyJump hosts, and
 * public-key authentication with ssh-agent's keys first, then the identity files (asking for passphrases on a
 * terminal). Failures become an {@link SshConnectionException} that says what to fix ({@link ConnectFailure}).
 */
final class ConnectionOpener {
    private static final int KEEPALIVE_MAX_MISSED = 4;
    /** Long enough to type a passphrase: authentication waits for the person at the terminal. */
    private static final Duration INTERACTIVE_AUTH_TIMEOUT = Duration.ofMinutes(2);
    private final SshExecutorConfig config;
    private final SshPaths paths;
    private final Console console;

    /** @param console where to ask for key passphrases; null when nobody can answer */
    ConnectionOpener(SshExecutorConfig config, SshPaths paths, Console console) {
        this.config = config;
        this.paths = paths;
        this.console = console;
    }

    /**
     * MINA's ciphers with AES-GCM first, unless this JVM runs with the quick-starting compiler only (the launcher says
     * so with {@code -Dsortie.jit=c1}): with the optimising compiler AES-GCM moves 3-4x the bytes per CPU second of
     * chacha20 (measured: a 500 MB sync in 4.6 s instead of 7.0 s), with C1 alone it is several times slower.
     */
    static <T extends org.apache.sshd.common.NamedResource> List<T> preferredCiphers(List<T> ciphers) {
        if ("c1".equals(System.getProperty("sortie.jit"))) {
            return ciphers;
        }
        List<T> ordered = new java.util.ArrayList<>();
        ciphers.stream().filter(c -> c.getName().startsWith("aes") && c.getName().contains("-gcm")).forEach(ordered::add);
        ciphers.stream().filter(c -> !ordered.contains(c)).forEach(ordered::add);
        return ordered;
    }

    SshConnection open() throws SshConnectionException {
        SshTarget target = config.resolve(paths);
        checkIdentities(target);
        HostConfigEntryResolver resolver = resolver();
        HostKeyChecker checker = new HostKeyChecker(paths.knownHosts(), config.acceptNewHostKey());
        IdentityFiles files = new IdentityFiles(console);
        UnixSocketAgentFactory agent = paths.agentSocket() == null ? null : new UnixSocketAgentFactory(paths.agentSocket());
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(checker);
        client.setHostConfigEntryResolver(resolver);
        client.setClientIdentityLoader(files);
        client.setFilePasswordProvider(files);
        // The executor's host is offered exactly its identities (SshTarget); these defaults are for ProxyJump hosts
        // with no IdentityFile of their own, as with ssh.
        client.setKeyIdentityProvider(ClientIdentityLoader.asKeyIdentityProvider(files,
                defaultIdentities().stream().map(PathResource::new).toList(), files, true));
        if (agent != null) {
            client.setAgentFactory(agent);
        }
        client.setCipherFactories(preferredCiphers(client.getCipherFactories()));
        Duration authTimeout = config.connectTimeout().multipliedBy(2);
        if (files.interactive() && authTimeout.compareTo(INTERACTIVE_AUTH_TIMEOUT) < 0) {
            authTimeout = INTERACTIVE_AUTH_TIMEOUT;
        }
        CoreModuleProperties.IO_CONNECT_TIMEOUT.set(client, config.connectTimeout());
        CoreModuleProperties.AUTH_TIMEOUT.set(client, authTimeout);
        if (!config.keepalive().isZero()) {
            CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, config.keepalive());
            CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, KEEPALIVE_MAX_MISSED);
            // with keepalives on, an idle connection is kept (the heartbeat answers tell it is alive)
            CoreModuleProperties.IDLE_TIMEOUT.set(client, Duration.ZERO);
        }
        client.start();
        ClientSession session = null;
        try {
            // a ProxyJump chain is connected and authenticated within this wait, hence the auth time on top
            long started = System.nanoTime();
            session = client.connect(target.toHostConfigEntry(), null, null)
                    .verify(target.proxyJump() == null ? config.connectTimeout() : config.connectTimeout().plus(authTimeout))
                    .getSession();
            SshConnectionException silent = awaitHandshake(target, session, target.proxyJump() == null
                    ? config.connectTimeout().minusNanos(System.nanoTime() - started) : config.connectTimeout());
            if (silent != null) {
                session.close(true);
                client.stop();
                throw silent;
            }
            session.setAttribute(UnixSocketAgentFactory.OFFER, agentKeysFor(target, resolver));
            session.auth().verify(authTimeout);
            return new SshConnection(target, client, session);
        } catch (SshConnectionException e) {
            throw e; // already says what happened
        } catch (IOException | RuntimeException e) {
            SshConnectionException clear = new ConnectFailure(target, paths, resolver, checker, files, agent).explain(session, e);
            if (session != null) {
                session.close(true);
            }
            client.stop();
            throw clear;
        } finally {
            files.forgetPassphrases();
        }
    }

    /**
     * Waits, within what is left of the connect timeout, for the host to speak SSH and agree keys. The connect
     * future is done once TCP is up; without this wait a host that accepts the connection and never answers (a
     * port forward to nothing, a tarpit, a service that is not sshd) was only given up on by the login's own
     * timeout, after three connect timeouts in all, and reported as a plain time-out. Returns why it failed, or null.
     */
    private static SshConnectionException awaitHandshake(SshTarget target, ClientSession session, Duration left) {
        Duration wait = left.compareTo(Duration.ofMillis(100)) < 0 ? Duration.ofMillis(100) : left;
        java.util.Set<ClientSession.ClientSessionEvent> events = session.waitFor(java.util.EnumSet.of(
                ClientSession.ClientSessionEvent.WAIT_AUTH, ClientSession.ClientSessionEvent.AUTHED,
                ClientSession.ClientSessionEvent.CLOSED), wait);
        if (!events.contains(ClientSession.ClientSessionEvent.TIMEOUT) || events.contains(ClientSession.ClientSessionEvent.WAIT_AUTH)
                || events.contains(ClientSession.ClientSessionEvent.AUTHED) || events.contains(ClientSession.ClientSessionEvent.CLOSED)) {
            return null; // ready to log in, or closed: the login's failure says why
        }
        String where = target.display() + (target.proxyJump() != null ? " via ProxyJump " + target.proxyJump() : "");
        String limit = dev.sortie.core.config.Units.human(wait);
        return new SshConnectionException(SshConnectionException.Kind.TIMEOUT, session.getServerVersion() == null
                ? "cannot connect to " + where + ": the host accepted the connection but never spoke SSH within " + limit
                        + " (no SSH banner: is it sshd listening on port " + target.port() + ", or a port forward or firewall"
                        + " that accepts and drops? check 'host:' and 'port:'; raise 'connect_timeout:' for slow links)"
                : "cannot connect to " + where + ": it speaks SSH (" + session.getServerVersion() + ") but the key exchange did not"
                        + " finish within " + limit + "; raise 'connect_timeout:' for slow links", null);
    }

    /** Fails early, before any network, when there is nothing to log in with. */
    private void checkIdentities(SshTarget target) throws SshConnectionException {
        for (Path id : target.identities()) {
            if (config.identity() != null && !Files.isReadable(id)) {
                throw new SshConnectionException(SshConnectionException.Kind.BAD_IDENTITY, "executor '" + config.name()
                        + "': identity " + id + " does not exist or cannot be read; fix 'identity:' or create the key with "
                        + "ssh-keygen -t ed25519 -f " + id, null);
            }
        }
        if (target.identities().isEmpty() && paths.agentSocket() == null) {
            throw new SshConnectionException(SshConnectionException.Kind.BAD_IDENTITY, "no private key to log in to "
                    + target.display() + " with: no ssh-agent (SSH_AUTH_SOCK is not set) and no identity file; set 'identity:' on "
                    + "the executor or IdentityFile in " + paths.configFile() + ", or create a key with ssh-keygen -t ed25519 "
                    + "(then ssh-copy-id " + target.user() + "@" + target.hostName() + ") and add it to a running ssh-agent "
                    + "with ssh-add", null);
        }
    }

    /**
     * The ssh config, for the executor's host and its ProxyJump hosts. A jump host that no {@code Host} block names is
     * reached as ssh would: port 22 and the local user unless the ProxyJump spec says otherwise.
     */
    private HostConfigEntryResolver resolver() {
        HostConfigEntryResolver file = paths.configFile() != null && Files.isRegularFile(paths.configFile())
                ? new ConfigFileHostEntryResolver(paths.configFile()) : HostConfigEntryResolver.EMPTY;
        return (host, port, local, user, proxyJump, context) -> {
            HostConfigEntry e = file.resolveEffectiveHost(host, port, local, user, proxyJump, context);
            return e != null ? e : new HostConfigEntry(host, host, port > 0 ? port : 22, user != null ? user : paths.localUser());
        };
    }

    /** ssh's IdentitiesOnly: with it, only the agent's keys that are also the host's identity files are offered. */
    private Predicate<PublicKey> agentKeysFor(SshTarget target, HostConfigEntryResolver resolver) {
        HostConfigEntry entry;
        try {
            entry = resolver.resolveEffectiveHost(config.host(), config.port() == null ? 0 : config.port(), null, config.user(), null, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return entry != null && entry.isIdentitiesOnly() ? UnixSocketAgentFactory.onlyKeysOf(target.identities()) : k -> true;
    }

    private List<Path> defaultIdentities() {
        if (paths.sshDir() == null) {
            return List.of();
        }
        return SshPaths.DEFAULT_IDENTITIES.stream().map(paths.sshDir()::resolve).filter(Files::isRegularFile).toList();
    }
}
