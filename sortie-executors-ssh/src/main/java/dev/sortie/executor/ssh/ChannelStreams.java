package dev.sortie.executor.ssh;

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
 * The streaming commands of {@link SshConnection}: stdin written by the caller straight into the channel (no pump
 * thread, no copy), stdout either pushed into a stream by SSH's I/O thread or pulled by the caller, stderr kept.
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

    static SshConnection.Result run(ClientSession session, String host, String commandLine, SshConnection.StdinWriter stdin,
                                    OutputStream stdout, SshConnection.StdoutReader reader, Duration idleTimeout) throws IOException {
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idle timeout must be positive, got " + idleTimeout);
        }
        Activity activity = new Activity(idleTimeout);
        CappedBuffer err = new CappedBuffer(MAX_STDERR);
        ChannelExec ch = session.createExecChannel(commandLine);
        ScheduledFuture<?> watchdog = null;
        try {
            ch.setErr(activity.watch(err));
            if (stdout != null) {
                ch.setOut(activity.watch(stdout));
            }
            ch.open().verify(idleTimeout);
            long period = Math.max(50, Math.min(1000, idleTimeout.toMillis() / 4));
            watchdog = session.getFactoryManager().getScheduledExecutorService().scheduleWithFixedDelay(() -> {
                if (activity.expired()) {
                    ch.close(true);
                }
            }, period, period, TimeUnit.MILLISECONDS);

            IOException channelError = writeStdin(ch, stdin, activity);
            if (reader != null && channelError == null) {
                readStdout(ch, reader, activity);
            }
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
            return new SshConnection.Result(exit, "", err.text());
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
     * Runs the caller's writer on the channel's stdin, then sends EOF. A failure of the writer's own (a local file
     * that cannot be read) aborts the channel without EOF, so the command sees a cut stream, never a short complete
     * one. A failure of the channel (the command exited without reading everything, or the connection dropped) is
     * returned: the exit status, when there is one, says more than the write error.
     */
    private static IOException writeStdin(ChannelExec ch, SshConnection.StdinWriter stdin, Activity activity) throws IOException {
        OutputStream raw = ch.getInvertedIn();
        ChannelOut in = new ChannelOut(raw, activity);
        try {
            stdin.writeTo(in);
            raw.close(); // flushes, then EOF
            return null;
        } catch (IOException | RuntimeException e) {
            if (in.failure != null || !ch.isOpen()) {
                return in.failure != null ? in.failure : e instanceof IOException io ? io : new IOException(e);
            }
            ch.close(true);
            throw e;
        }
    }

    /** Hands stdout to the caller's reader; on a failure the channel is closed and {@link #run} says why it failed. */
    private static void readStdout(ChannelExec ch, SshConnection.StdoutReader reader, Activity activity) throws IOException {
        InputStream out = activity.watch(ch.getInvertedOut());
        try {
            reader.readFrom(out);
            out.transferTo(OutputStream.nullOutputStream()); // what the reader left: the command must be able to finish
        } catch (IOException | RuntimeException e) {
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
     * The channel's stdin as the caller's writer sees it: counts as activity, remembers a failure of the channel itself
     * (to tell it from the writer's own), and ignores close (EOF is sent after the writer returned, not before).
     */
    private static final class ChannelOut extends OutputStream {
        private final OutputStream channel;
        private final Activity activity;
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
        public void close() {
            // EOF is the caller's, after the writer returned
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
