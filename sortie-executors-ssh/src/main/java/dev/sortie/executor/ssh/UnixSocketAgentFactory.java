package dev.sortie.executor.ssh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.sshd.agent.SshAgent;
import org.apache.sshd.agent.SshAgentFactory;
import org.apache.sshd.agent.SshAgentServer;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;

/**
 * Plugs {@link UnixSocketAgent} into MINA SSHD's client: public-key authentication then offers the agent's keys
 * before the identity files, as OpenSSH does. One factory per connection; each session (the executor's host and every
 * ProxyJump host) opens its own short-lived agent connection. Agent forwarding to the host is not offered.
 */
final class UnixSocketAgentFactory implements SshAgentFactory {
    private static final System.Logger LOG = System.getLogger(UnixSocketAgentFactory.class.getName());
    /**
     * Set on the executor's own session before it authenticates: which of the agent's keys it offers. Jump hosts'
     * sessions carry none and are offered all of them.
     */
    static final AttributeKey<Predicate<PublicKey>> OFFER = new AttributeKey<>();

    private final Path socket;
    private volatile String unreachable;

    UnixSocketAgentFactory(Path socket) {
        this.socket = socket;
    }

    Path socket() {
        return socket;
    }

    /** Why the agent could not be used (it was named but did not answer), or null. */
    String unreachable() {
        return unreachable;
    }

    @Override
    public SshAgent createClient(Session session, FactoryManager manager) {
        Predicate<PublicKey> offer = session.getAttribute(OFFER);
        try {
            return new UnixSocketAgent(socket, offer == null ? k -> true : offer);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "ssh-agent at {0} did not answer: {1}", socket, e);
            // like ssh: a stale SSH_AUTH_SOCK is not fatal, the identity files are still tried
            unreachable = "ssh-agent at " + socket + " did not answer (" + e.getMessage() + "); is SSH_AUTH_SOCK stale?";
            return null;
        }
    }

    @Override
    public List<ChannelFactory> getChannelForwardingFactories(FactoryManager manager) {
        return List.of();
    }

    @Override
    public SshAgentServer createServer(ConnectionService service) throws IOException {
        throw new IOException("agent forwarding is not offered to ssh executors' hosts");
    }

    /**
     * {@code IdentitiesOnly}: only the agent's keys whose public half is one of {@code identities}. Like ssh, the
     * public half is read from {@code KEY.pub}, so an encrypted key need not be decrypted to be matched; a key with no
     * {@code .pub} beside it is not matched in the agent (its file is still tried).
     */
    static Predicate<PublicKey> onlyKeysOf(List<Path> identities) {
        List<PublicKey> allowed = new ArrayList<>();
        for (Path id : identities) {
            Path pub = Path.of(id + ".pub");
            if (!Files.isReadable(pub)) {
                continue;
            }
            try {
                for (AuthorizedKeyEntry e : AuthorizedKeyEntry.readAuthorizedKeys(pub)) {
                    PublicKey k = e.resolvePublicKey(null, PublicKeyEntryResolver.IGNORING);
                    if (k != null) {
                        allowed.add(k);
                    }
                }
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "{0} skipped when matching agent keys: {1}", pub, e);
                // an unreadable .pub only means that key is not matched in the agent
            }
        }
        return key -> allowed.stream().anyMatch(a -> KeyUtils.compareKeys(a, key));
    }
}
