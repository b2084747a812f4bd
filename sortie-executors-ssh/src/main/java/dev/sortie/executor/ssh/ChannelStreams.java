package dev.sortie.executor.ssh;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;

/**
 * The streaming commands of {@link SshConnection}: stdin written by the calling thread straight into the channel (no
 * pump thread, no pipe), stdout either pushed into a stream by SSH's I/O thread or pulled by the caller, stderr kept.
 *
 * <p>Streams of any length are allowed, so the limit is on inactivity, not on the total: a watchdog closes the channel
 * when no byte has moved either way for the idle timeout (a dead connection is also caught by keepalives, and a
 * host that stops reading by MINA's 30 s wait for window space; this catches a command that hangs without output).
 */
final class ChannelStreams {
    /** stderr is for messages; a command that floods it must not fill the heap. */
    private static final int MAX_STDERR = 256 * 1024;

    private ChannelStreams() {
    }

    /**
     * Runs {@code commandLine} with {@code conversation} on its stdin and stdout; with {@code pushStdout}, stdout goes
     * there instead (from SSH's I/O thread) and the conversation only writes. EOF is sent when the conversation
     * closes stdin or returns; what it left of stdout is drained so the command can finish.
     */
    static HostChannel.Result run(ClientSession session, String host, String commandLine, HostChannel.Conversation conversation,
                                    OutputStream pushStdout, Duration idleTimeout) throws IOException {
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idle timeout must be positive, got " + idleTimeout);
        }
        Activity activity = new Activity(idleTimeout);
        CappedBuffer err = new CappedBuffer(MAX_STDERR);
        ChannelExec ch = SshConnection.newChannel(session, host, commandLine);
        ScheduledFuture<?> watchdog = null;
        try {
            ch.setErr(activity.watch(err));
            if (pushStdout != null) {
                ch.setOut(activity.watch(pushStdout));
            }
            ch.open().verify(idleTimeout);
            long period = Math.max(50, Math.min(1000, idleTimeout.toMillis() / 4));
            watchdog = session.getFactoryManager().getScheduledExecutorService().scheduleWithFixedDelay(() -> {
                if (activity.expired()) {
                    ch.close(true);
                }
            }, period, period, TimeUnit.MILLISECONDS);

            IOException channelError = talk(ch, conversation, pushStdout == null, activity);
            ch.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), 0L); // the watchdog or the session's end bound the wait
            Integer exit = ch.getExitStatus();
            if (activity.timedOut) {
                throw timeout(host, commandLine, idleTimeout, null);
            }
            if (exit == null && !session.isOpen()) {
                throw lost(host, commandLine, channelError != null ? channelError : new IOException("session closed"));
            }
            if (exit == null && channelError != null) {
                throw channelError;
            }
            return new HostChannel.Result(exit, "", err.text());
        } catch (SshConnectionException e) {
            throw e;
        } catch (IOException e) {
            if (activity.timedOut) {
                throw timeout(host, commandLine, idleTimeout, e);
            }
            if (!session.isOpen()) {
                throw lost(host, commandLine, e);
            }
            throw e;
        } finally {
            if (watchdog != null) {
                watchdog.cancel(false);
            }
            ch.close(true);
        }
    }

    /**
     * Runs the conversation, then sends EOF and drains stdout. A failure of the conversation's own (a local file
     * that cannot be read, a reply it cannot parse) aborts the channel without EOF, so the command sees a cut
     * stream, never a short complete one, and the failure is thrown. A failure of the channel (the command exited
     * without reading everything, or the connection dropped) is returned: the exit status, when there is one, says
     * more than the write error.
     */
    private static IOException talk(ChannelExec ch, HostChannel.Conversation conversation, boolean pull, Activity activity)
            throws IOException {
        ChannelOut in = new ChannelOut(ch.getInvertedIn(), activity);
        InputStream out = pull ? activity.watch(ch.getInvertedOut()) : InputStream.nullInputStream();
        try {
            conversation.talk(in, out);
            in.close();
            out.transferTo(OutputStream.nullOutputStream());
            return in.failure;
        } catch (IOException | RuntimeException e) {
            if (in.failure != null) {
                return in.failure;
            }
            ch.close(true);
            throw e;
        }
    }

    private static SshConnectionException timeout(String host, String commandLine, Duration idle, Throwable cause) {
        return new SshConnectionException(SshConnectionException.Kind.TIMEOUT, "command on " + host + " moved no data for "
                + idle.toSeconds() + "s and was stopped: " + abbreviate(commandLine), cause);
    }

    private static SshConnectionException lost(String host, String commandLine, Throwable cause) {
        return new SshConnectionException(SshConnectionException.Kind.DISCONNECTED, "lost the connection to " + host
                + " while running " + abbreviate(commandLine) + ": " + cause.getMessage(), cause);
    }

    static String abbreviate(String s) {
        String line = s.replace('\n', ' ');
        return line.length() > 120 ? line.substring(0, 117) + "..." : line;
    }

    /** When a byte last moved, for the watchdog. */
    private static final class Activity {
        private final long idleNanos;
        private volatile long last = System.nanoTime();
        volatile boolean timedOut;

        Activity(Duration idle) {
            this.idleNanos = idle.toNanos();
        }

        void touch() {
            last = System.nanoTime();
        }

        boolean expired() {
            if (System.nanoTime() - last > idleNanos) {
                timedOut = true;
            }
            return timedOut;
        }

        OutputStream watch(OutputStream out) {
            return new FilterOutputStream(out) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    touch();
                    out.write(b, off, len);
                }
            };
        }

        InputStream watch(InputStream in) {
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    int b = in.read();
                    touch();
                    return b;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = in.read(b, off, len);
                    touch();
                    return n;
                }

                @Override
                public int available() throws IOException {
                    return in.available();
                }
            };
        }
    }

    /**
     * The channel's stdin as the conversation sees it: counts as activity, remembers a failure of the channel itself
     * (to tell it from the conversation's own), and sends EOF on the first close.
     */
    private static final class ChannelOut extends OutputStream {
        private final OutputStream channel;
        private final Activity activity;
        private boolean closed;
        IOException failure;

        ChannelOut(OutputStream channel, Activity activity) {
            this.channel = channel;
            this.activity = activity;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            activity.touch();
            try {
                channel.write(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                channel.flush();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                channel.close(); // flushes, then EOF
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }
    }

    /** Keeps the first {@code cap} bytes, drops the rest (written from SSH's I/O thread, read after the close). */
    private static final class CappedBuffer extends OutputStream {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final int cap;
        private boolean truncated;

        CappedBuffer(int cap) {
            this.cap = cap;
        }

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int room = cap - buf.size();
            if (len > room) {
                truncated = true;
            }
            buf.write(b, off, Math.max(0, Math.min(len, room)));
        }

        synchronized String text() {
            return buf.toString(StandardCharsets.UTF_8) + (truncated ? "\n[stderr cut at " + cap + " bytes]" : "");
        }
    }
}
