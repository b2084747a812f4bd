package dev.sortie.executor.remote.channel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;

/**
 * A channel to a host: what the remote-run path needs from a transport. Commands are argument vectors, each
 * argument quoted for the host's POSIX shell ({@link ShellQuote}) so it arrives literally; each command has its own
 * stdin, stdout, stderr and exit status, and many may run at once over one channel. The SSH connection
 * (sortie-executors-ssh) is one implementation; any transport that runs commands on the host can be another.
 * Failures of the channel itself are {@link ChannelException}s; a command that ran and failed is a {@link Result}.
 */
public interface HostChannel extends AutoCloseable {

    /** What a command did: its exit code (null if the host sent none, e.g. killed by a signal) and its output. */
    public record Result(Integer exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode != null && exitCode == 0;
        }
    }

    /** The host as messages name it, e.g. {@code me@gpu1:22}. */
    public String where();

    /** Whether commands can still be started over it (a broken one is closed and opened anew by its owner). */
    public boolean isOpen();

    /** Runs {@code argv} on the host, each argument quoted so it arrives literally; no stdin; output captured. */
    public Result exec(List<String> argv, Duration timeout) throws IOException;

    /** Runs a POSIX sh script on the host ({@code sh -c SCRIPT}, whatever the user's login shell parses it as). */
    public default Result script(String script, Duration timeout) throws IOException {
        return exec(List.of("sh", "-c", script), timeout);
    }

    /**
     * Runs {@code argv} on the host, streaming {@code stdin} to it (then EOF) and its output into {@code stdout} as
     * it comes; stderr is captured into the result. Stopped only when nothing moved for {@code idleTimeout}.
     */
    public default Result exec(List<String> argv, InputStream stdin, OutputStream stdout, Duration idleTimeout) throws IOException {
        return exec(argv, (StdinWriter) stdin::transferTo, stdout, idleTimeout);
    }

    /**
     * Runs {@code argv} on the host with {@code stdin} written by the calling thread straight into the command,
     * then EOF; stdout goes into {@code stdout} as it arrives (possibly from the channel's I/O thread: keep it quick),
     * stderr into the result (whose stdout is empty). Streams of any size are fine: the command is stopped only when
     * no byte moved either way for {@code idleTimeout}. If the writer itself fails, the command is aborted without
     * EOF and the writer's exception is thrown; if the command exits without reading all of stdin, its exit status
     * is returned (as ssh does).
     */
    public Result exec(List<String> argv, StdinWriter stdin, OutputStream stdout, Duration idleTimeout) throws IOException;

    /**
     * Like {@link #exec(List, StdinWriter, OutputStream, Duration)}, but the calling thread reads stdout with
     * {@code stdout}, after the stdin writer returned and EOF was sent (what the reader leaves is drained). So the
     * command must read all of its stdin before it writes more than the channel buffers (about 2 MiB over SSH), as
     * {@code tar -c} of paths read first does.
     */
    public Result exec(List<String> argv, StdinWriter stdin, StdoutReader stdout, Duration idleTimeout) throws IOException;

    /** Runs {@code argv} on the host, talking with it; same rules as the other streaming execs. */
    public Result exec(List<String> argv, Conversation conversation, Duration idleTimeout) throws IOException;

    /** Starts {@code argv} on the host and returns it running; see {@link OpenCommand}. */
    public OpenCommand start(List<String> argv, Duration openTimeout) throws IOException;

    /** Closes the channel; commands still running over it lose their streams (what runs detached on the host goes on). */
    @Override
    public void close();

    /** Writes a command's stdin; EOF follows when it returns (it need not close the stream it is given). */
    @FunctionalInterface
    public interface StdinWriter {
        void writeTo(OutputStream stdin) throws IOException;
    }

    /** Reads a command's stdout as it arrives, on the calling thread. */
    @FunctionalInterface
    public interface StdoutReader {
        void readFrom(InputStream stdout) throws IOException;
    }

    /**
     * Talks with a command over its stdin and stdout, on the calling thread: write, flush, read a reply, write
     * more. Closing stdin sends EOF (so does returning). Mind the buffers: neither side should write more than
     * ~2 MiB that the other is not reading at the same time.
     */
    @FunctionalInterface
    public interface Conversation {
        void talk(OutputStream stdin, InputStream stdout) throws IOException;
    }

    /**
     * A command left running on the host to talk with over its stdin and stdout, request after request, from the
     * caller's thread (a shell that answers many small questions costs one process start, not one each). Its
     * stderr is dropped. Closing it ends the command's channel.
     */
    public interface OpenCommand extends AutoCloseable {
        OutputStream stdin();

        InputStream stdout();

        boolean isOpen();

        @Override
        void close();
    }

    /** A long command line shortened for a message. */
    public static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }
}
