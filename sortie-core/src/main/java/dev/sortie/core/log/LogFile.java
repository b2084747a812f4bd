package dev.sortie.core.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * Appends records to one log file that several processes may share (each record is one {@code write} to a file
 * opened with O_APPEND, so lines from two processes never mix). The file is created only when the first record
 * comes: a command that logs nothing leaves nothing. Until the file is known ({@link #attach}: the CLI finds its
 * project only after parsing its command line), records wait in a small bounded buffer. Past {@code rotateAt}
 * bytes the file becomes {@code NAME.1} (replacing the previous one) and a new one starts. A folder the log has
 * to create gets a {@code .gitignore} that ignores everything in it.
 * <p>A log that cannot be written (a read-only folder, a full disk) is given up silently: logging must never be
 * the reason a command fails.
 */
public final class LogFile extends Handler {
    public static final long DEFAULT_ROTATE_AT = 10L * 1024 * 1024;
    static final int DEFAULT_BUFFER = 500;

    private final long rotateAt;
    private final int bufferLimit;
    private final ArrayDeque<String> buffer = new ArrayDeque<>();
    private int dropped;
    private Path file;
    private FileChannel channel;
    private Object channelKey;
    private boolean failed;

    public LogFile(long rotateAt, int bufferLimit) {
        this.rotateAt = rotateAt;
        this.bufferLimit = bufferLimit;
        setFormatter(new LogLine(true, true));
        setLevel(Level.ALL);
    }

    /** A log that keeps records in memory until {@link #attach} names its file. */
    public LogFile() {
        this(DEFAULT_ROTATE_AT, DEFAULT_BUFFER);
    }

    /** A log appending to {@code file} (created with its folders on the first record). */
    public static LogFile at(Path file) {
        LogFile log = new LogFile();
        log.attach(file);
        return log;
    }

    /** Names the file; the records kept until now go to it first. Later calls with another file are ignored. */
    public synchronized void attach(Path file) {
        if (this.file != null) {
            return;
        }
        this.file = file.toAbsolutePath();
        if (dropped > 0) {
            buffer.addFirst(LocalNote.line("(" + dropped + " earlier records were dropped: more than " + bufferLimit + " before the log file was known)"));
            dropped = 0;
        }
        if (!buffer.isEmpty()) {
            write(buffer.removeLast());
        }
    }

    /** The file this log appends to, or null while it is not known. */
    public synchronized Path file() {
        return file;
    }

    @Override
    public void publish(LogRecord record) {
        if (!isLoggable(record)) {
            return;
        }
        String line;
        try {
            line = getFormatter().format(record);
        } catch (RuntimeException e) {
            line = LocalNote.line("(a record of " + record.getLoggerName() + " could not be formatted: " + e + ")");
        }
        synchronized (this) {
            if (failed) {
                return;
            }
            if (file == null) {
                keep(line);
            } else {
                write(line);
            }
        }
    }

    private void keep(String line) {
        if (buffer.size() >= bufferLimit) {
            buffer.removeFirst();
            dropped++;
        }
        buffer.addLast(line);
    }

    private void write(String line) {
        Path home = file.getParent().getParent();
        if (home != null && !Files.isDirectory(home)) {
            // The log makes its own folder, never the one it lives in: a project whose .sortie/ was removed during a
            // run must not get one back from a log line (nor a run folder on a host its agent.log). Kept until it exists.
            keep(line);
            return;
        }
        while (!buffer.isEmpty() && !failed) {
            writeNow(buffer.removeFirst());
        }
        if (!failed) {
            writeNow(line);
        }
    }

    private void writeNow(String line) {
        try {
            openIfNeeded();
            ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            if (channel.size() >= rotateAt) {
                rotate();
            }
        } catch (IOException | RuntimeException e) {
            failed = true;
            closeChannel();
        }
    }

    /** Opens the file unless the open channel is still the file at that name (another process may have rotated it). */
    private void openIfNeeded() throws IOException {
        if (channel != null) {
            Object key = currentKey();
            if (key != null && Objects.equals(key, channelKey)) {
                return;
            }
            closeChannel();
        }
        Path folder = file.getParent();
        if (!Files.isDirectory(folder)) {
            Files.createDirectories(folder);
            // a log folder of its own is machine-local: kept out of git even in projects whose .gitignore predates it
            Files.writeString(folder.resolve(".gitignore"), "*\n", StandardCharsets.UTF_8);
        }
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        channelKey = currentKey();
    }

    /** The identity (device and inode) of the file at {@link #file} now, or null if there is none. */
    private Object currentKey() throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private void rotate() throws IOException {
        // Only the file this process has open is moved: if another process rotated it already, the name holds a
        // new file that must not be moved over the one it just set aside.
        if (Objects.equals(currentKey(), channelKey)) {
            Files.move(file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        }
        closeChannel();
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing more to do with a log that cannot be closed
            }
            channel = null;
            channelKey = null;
        }
    }

    @Override
    public void flush() {
        // every record is written as it comes
    }

    @Override
    public synchronized void close() {
        closeChannel();
    }

    /** A line the log writes about itself, in the same shape as the records. */
    private static final class LocalNote {
        static String line(String text) {
            LogRecord r = new LogRecord(Level.INFO, text);
            r.setLoggerName(LogFile.class.getName());
            return new LogLine(true, false).format(r);
        }
    }
}
