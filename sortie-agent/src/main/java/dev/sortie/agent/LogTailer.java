package dev.sortie.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * Follows a log file that a command writes to directly, handing out its bytes as they are written and its lines
 * up to a length. The command owns the file (its stdout is redirected there by the OS), so no line is lost when
 * the process that tails it dies: the file is the record, tailing only streams and parses it.
 *
 * <p>Memory stays bounded whatever the command prints: bytes are passed on chunk by chunk, never a whole line, and
 * a line longer than {@code maxLine} bytes is not kept at all: only counted ({@link #overlongLines()}), so a
 * program that prints 700 MB without a newline costs this reader 64 KiB plus the limit.
 */
public final class LogTailer implements AutoCloseable {
    /** Output lines longer than this are not parsed for metrics: no metric line is that long. */
    public static final int OUTPUT_LINE_LIMIT = 64 * 1024;
    /** SDK event lines (sdk/PROTOCOL.md) longer than this are skipped: an SDK writes a few hundred bytes an event. */
    public static final int EVENT_LINE_LIMIT = 1024 * 1024;

    /** Takes bytes as they were written; a chunk may end in the middle of a line or of a UTF-8 character. */
    @FunctionalInterface
    public interface ByteSink {
        void write(byte[] bytes, int offset, int length) throws IOException;
    }

    private final Path file;
    private final int maxLine;
    private final byte[] chunk = new byte[64 * 1024];
    private final ByteBuffer buffer = ByteBuffer.wrap(chunk);
    private byte[] partial = new byte[256];
    private int partialLength;
    /** The line being read is longer than {@code maxLine}: its bytes are dropped up to its newline. */
    private boolean skipping;
    private long overlong;
    private FileChannel channel;
    private long position;

    /** A tailer whose lines may be as long as {@link #EVENT_LINE_LIMIT}. */
    public LogTailer(Path file, long startPosition) {
        this(file, startPosition, EVENT_LINE_LIMIT);
    }

    public LogTailer(Path file, long startPosition, int maxLine) {
        if (maxLine < 1) {
            throw new IllegalArgumentException("maxLine must be at least 1, not " + maxLine);
        }
        this.file = file;
        this.position = startPosition;
        this.maxLine = maxLine;
    }

    /** Reads what has been written since the last call and passes each complete line on. Returns bytes read. */
    public long pump(Consumer<String> lines) throws IOException {
        return pump(null, lines);
    }

    /**
     * Reads what has been written since the last call: every byte goes to {@code bytes} (if not null), each
     * complete line of at most {@code maxLine} bytes to {@code lines} (if not null), decoded as UTF-8 with
     * invalid bytes replaced. Returns the bytes read.
     */
    public long pump(ByteSink bytes, Consumer<String> lines) throws IOException {
        if (channel == null) {
            if (!Files.exists(file)) {
                return 0;
            }
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        long total = 0;
        while (true) {
            buffer.clear();
            int n = channel.read(buffer, position);
            if (n <= 0) {
                break;
            }
            position += n;
            total += n;
            if (bytes != null) {
                bytes.write(chunk, 0, n);
            }
            if (lines != null) {
                split(n, lines);
            }
        }
        return total;
    }

    private void split(int n, Consumer<String> lines) {
        int start = 0;
        for (int i = 0; i < n; i++) {
            if (chunk[i] == '\n') {
                keep(start, i - start);
                endLine(lines);
                start = i + 1;
            }
        }
        keep(start, n - start);
    }

    private void keep(int from, int length) {
        if (skipping || length == 0) {
            return;
        }
        if (partialLength + length > maxLine) {
            skipping = true;
            partialLength = 0;
            if (partial.length > 4096) {
                partial = new byte[256]; // let the long line's buffer go
            }
            return;
        }
        if (partialLength + length > partial.length) {
            partial = java.util.Arrays.copyOf(partial, Math.min(maxLine, Math.max(partialLength + length, partial.length * 2)));
        }
        System.arraycopy(chunk, from, partial, partialLength, length);
        partialLength += length;
    }

    private void endLine(Consumer<String> lines) {
        if (skipping) {
            skipping = false;
            overlong++;
            return;
        }
        int len = partialLength;
        partialLength = 0;
        if (len > 0 && partial[len - 1] == '\r') {
            len--;
        }
        String line;
        try {
            line = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(ByteBuffer.wrap(partial, 0, len)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            line = new String(partial, 0, len, StandardCharsets.ISO_8859_1);
        }
        lines.accept(line);
    }

    /** Reads to the end and passes on the last line even if it has no newline (the writer is gone). */
    public void drain(Consumer<String> lines) throws IOException {
        drain(null, lines);
    }

    /** {@link #pump(ByteSink, Consumer)} to the end, then the last line even if it has no newline (the writer is gone). */
    public void drain(ByteSink bytes, Consumer<String> lines) throws IOException {
        pump(bytes, lines);
        if ((partialLength > 0 || skipping) && lines != null) {
            endLine(lines);
        }
    }

    /** How many lines so far were longer than the limit, and so not passed on as lines (their bytes were). */
    public long overlongLines() {
        return overlong;
    }

    public int maxLine() {
        return maxLine;
    }

    public long position() {
        return position;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
