package dev.sortie.executor.ssh;

import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.channel.ShellQuote;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;

/**
 * One SSH connection to an executor's host, with Apache MINA SSHD: its own client, host keys checked against
 * known_hosts (see {@link HostKeyChecker}), public-key authentication with ssh-agent's keys and the target's
 * identities, keepalives (OpenSSH's {@code keepalive@openssh.com}; the connection is dropped after 4 unanswered ones;
 * see {@link ConnectionOpener}), and commands whose arguments are quoted for the remote POSIX shell: the
 * {@link HostChannel} of the ssh executor (every SSH command is a channel of its one session).
 */
public final class SshConnection implements HostChannel {
    private static final System.Logger LOG = System.getLogger(SshConnection.class.getName());
    private final SshTarget target;
    private final SshClient client;
    private final ClientSession session;

    SshConnection(SshTarget target, SshClient client, ClientSession session) {
        this.target = target;
        this.client = client;
        this.session = session;
    }

    /**
     * Connects and authenticates as {@code ssh} would (ssh config, known_hosts, ProxyJump, ssh-agent then identity
     * files, passphrases asked on the terminal if there is one), or fails with an {@link SshConnectionException}
     * that says what to fix.
     */
    public static SshConnection open(SshExecutorConfig config, SshPaths paths) throws SshConnectionException {
        return open(config, paths, true);
    }

    /**
     * Like {@link #open(SshExecutorConfig, SshPaths)}; without {@code mayAsk} a key with a passphrase is skipped
     * rather than asked for on the terminal (a login in the background must not prompt between other output).
     */
    public static SshConnection open(SshExecutorConfig config, SshPaths paths, boolean mayAsk) throws SshConnectionException {
        return new ConnectionOpener(config, paths, mayAsk ? System.console() : null).open();
    }

    public SshTarget target() {
        return target;
    }

    @Override
    public String where() {
        return target.display();
    }

    @Override
    public boolean isOpen() {
        return session.isOpen() && session.isAuthenticated();
    }

    /**
     * A channel for {@code commandLine}; on a connection that is closing (the host went away a moment ago) an
     * {@link SshConnectionException} of kind {@code CLOSED}: the command certainly did not reach the host.
     */
    static ChannelExec newChannel(ClientSession session, String host, String commandLine) throws IOException {
        try {
            return session.createExecChannel(commandLine);
        } catch (IOException | RuntimeException e) {
            if (!session.isOpen()) {
                throw new SshConnectionException(SshConnectionException.Kind.CLOSED, "the connection to " + host
                        + " closed before " + HostChannel.abbreviate(commandLine) + " could start: " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public Result exec(List<String> argv, Duration timeout) throws IOException {
        return execLine(ShellQuote.join(argv), timeout);
    }

    /** Runs a command line as the remote login shell parses it; callers must quote (see {@link ShellQuote}). */
    Result execLine(String commandLine, Duration timeout) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ChannelExec ch = newChannel(session, target.display(), commandLine)) {
            ch.setIn(new ByteArrayInputStream(new byte[0]));
            ch.setOut(out);
            ch.setErr(err);
            ch.open().verify(timeout);
            Set<ClientChannelEvent> ev = ch.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
            if (ev.contains(ClientChannelEvent.TIMEOUT)) {
                throw new SshConnectionException(SshConnectionException.Kind.TIMEOUT, "command on " + target.display()
                        + " did not finish within " + timeout.toSeconds() + "s: " + HostChannel.abbreviate(commandLine), null);
            }
            return new Result(ch.getExitStatus(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (SshConnectionException e) {
            throw e;
        } catch (IOException e) {
            if (!session.isOpen()) {
                throw new SshConnectionException(SshConnectionException.Kind.DISCONNECTED, "lost the connection to "
                        + target.display() + " while running " + HostChannel.abbreviate(commandLine) + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            session.close(false).await(Duration.ofSeconds(5));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the session did not close cleanly: {0}", e);
            // closing anyway
        } finally {
            client.stop();
        }
    }

    @Override
    public Result exec(List<String> argv, StdinWriter stdin, java.io.OutputStream stdout, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), (in, out) -> stdin.writeTo(in), stdout,
                idleTimeout);
    }

    @Override
    public Result exec(List<String> argv, StdinWriter stdin, StdoutReader stdout, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), (in, out) -> {
            stdin.writeTo(in);
            in.close();
            stdout.readFrom(out);
        }, null, idleTimeout);
    }

    @Override
    public OpenCommand start(List<String> argv, Duration openTimeout) throws IOException {
        ChannelExec ch = newChannel(session, target.display(), ShellQuote.join(argv));
        ch.setErr(java.io.OutputStream.nullOutputStream());
        try {
            ch.open().verify(openTimeout);
        } catch (IOException | RuntimeException e) {
            ch.close(true);
            throw e;
        }
        java.io.OutputStream in = ch.getInvertedIn();
        java.io.InputStream out = ch.getInvertedOut();
        return new OpenCommand() {
            @Override
            public java.io.OutputStream stdin() {
                return in;
            }

            @Override
            public java.io.InputStream stdout() {
                return out;
            }

            @Override
            public boolean isOpen() {
                return ch.isOpen() && !ch.isClosing() && session.isOpen();
            }

            @Override
            public void close() {
                ch.close(true);
            }
        };
    }

    @Override
    public Result exec(List<String> argv, Conversation conversation, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), conversation, null, idleTimeout);
    }
}
