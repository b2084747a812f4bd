package dev.sortie.executor.ssh;

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
 * see {@link ConnectionOpener}), and commands whose arguments are quoted for the remote POSIX shell.
 */
public final class SshConnection implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SshConnection.class.getName());
    private final SshTarget target;
    private final SshClient client;
    private final ClientSession session;

    SshConnection(SshTarget target, SshClient client, ClientSession session) {
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
                        + " closed before " + abbreviate(commandLine) + " could start: " + e.getMessage(), e);
            }
            throw e;
        }
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
        try (ChannelExec ch = newChannel(session, target.display(), commandLine)) {
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

    /**
     * Runs {@code argv} on the host (each argument quoted), streaming {@code stdin} to it (then EOF) and its
     * output into {@code stdout} as it comes; stderr is captured into the result. Stopped only when nothing moved
     * for {@code idleTimeout}.
     */
    public Result exec(List<String> argv, java.io.InputStream stdin, java.io.OutputStream stdout, Duration idleTimeout) throws IOException {
        return exec(argv, (StdinWriter) stdin::transferTo, stdout, idleTimeout);
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
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

    /** Writes a command's stdin; EOF follows when it returns (it need not close the stream it is given). */
    @FunctionalInterface
    public interface StdinWriter {
        void writeTo(java.io.OutputStream stdin) throws IOException;
    }

    /** Reads a command's stdout as it arrives, on the calling thread. */
    @FunctionalInterface
    public interface StdoutReader {
        void readFrom(java.io.InputStream stdout) throws IOException;
    }

    /**
     * Talks with a command over its stdin and stdout, on the calling thread: write, flush, read a reply, write
     * more. Closing stdin sends EOF (so does returning). Mind the windows: neither side should write more than
     * ~2 MiB that the other is not reading at the same time.
     */
    @FunctionalInterface
    public interface Conversation {
        void talk(java.io.OutputStream stdin, java.io.InputStream stdout) throws IOException;
    }

    /**
     * Runs {@code argv} on the host (each argument quoted) with {@code stdin} written by the calling thread straight
     * into the channel, then EOF; stdout goes into {@code stdout} as it arrives (from SSH's I/O thread: keep it quick),
     * stderr into the result (whose stdout is empty). Streams of any size are fine: the command is stopped only when
     * no byte moved either way for {@code idleTimeout}. If the writer itself fails, the command is aborted without
     * EOF and the writer's exception is thrown; if the command exits without reading all of stdin, its exit status
     * is returned (as ssh does).
     */
    public Result exec(List<String> argv, StdinWriter stdin, java.io.OutputStream stdout, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), (in, out) -> stdin.writeTo(in), stdout,
                idleTimeout);
    }

    /**
     * Like {@link #exec(List, StdinWriter, java.io.OutputStream, Duration)}, but the calling thread reads stdout with
     * {@code stdout}, after the stdin writer returned and EOF was sent (what the reader leaves is drained). So the
     * command must read all of its stdin before it writes more than a channel window (2 MiB) of output, as
     * {@code tar -c} of paths read first does.
     */
    public Result exec(List<String> argv, StdinWriter stdin, StdoutReader stdout, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), (in, out) -> {
            stdin.writeTo(in);
            in.close();
            stdout.readFrom(out);
        }, null, idleTimeout);
    }

    /**
     * A command left running on the host to talk with over its stdin and stdout, request after request, from the
     * caller's thread (a shell that answers many small questions costs one process start, not one each). Its
     * stderr is dropped. Closing it closes the channel.
     */
    public interface OpenCommand extends AutoCloseable {
        java.io.OutputStream stdin();

        java.io.InputStream stdout();

        boolean isOpen();

        @Override
        void close();
    }

    /** Starts {@code argv} on the host (each argument quoted) and returns it running; see {@link OpenCommand}. */
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

    /** Runs {@code argv} on the host (each argument quoted), talking with it; same rules as the other streaming execs. */
    public Result exec(List<String> argv, Conversation conversation, Duration idleTimeout) throws IOException {
        return ChannelStreams.run(session, target.display(), ShellQuote.join(argv), conversation, null, idleTimeout);
    }
}
