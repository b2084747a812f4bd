package dev.sortie.agent.remote;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The agent's side of the journal: a {@link RunListener} that appends what the run reports, one record per line,
 * each line written whole and flushed at once (followers read only complete lines, so a line is never seen torn).
 *
 * <p>An attempt's journal has exactly one end: the agent's, or a salvage's when the agent died without one. Both
 * write it through {@link #endOnce}, under a lock on the host shared by every process ({@code journal-N.jsonl.lock}),
 * and only when the journal holds no end yet.
 */
public final class JournalWriter implements RunListener, AutoCloseable {
    /** A burst of metrics is split so no journal line grows past a few MB. */
    static final int POINTS_PER_LINE = 10_000;
    /** How every end record's line starts ({@link JournalRecord#toLine} puts the type first). */
    private static final byte[] END_PREFIX = "{\"t\":\"end\"".getBytes(StandardCharsets.US_ASCII);
    private final Path file;
    private final OutputStream out;

    public JournalWriter(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.file = file;
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** What ends an attempt: work to do first (a salvage collects what the run left) and the end record it makes. */
    @FunctionalInterface
    public interface Ending {
        JournalRecord.End finish() throws IOException;
    }

    /**
     * Runs {@code ending} and appends the end it returns, under the journal's lock, unless the journal already has
     * an end: then neither runs, and this returns false. The lock is a file of its own (closing any other
     * descriptor of the journal in this process would drop a POSIX lock held on the journal itself).
     */
    public boolean endOnce(Ending ending) throws IOException {
        Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockChannel.lock()) {
            if (hasEnd(file)) {
                return false;
            }
            write(ending.finish());
            return true;
        }
    }

    /** Whether the journal holds an end record (a missing journal holds none). */
    public static boolean hasEnd(Path journal) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(journal), 1 << 16)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int matched = 0; // bytes of the line so far that match END_PREFIX; -1 once it cannot be an end
            for (int b = in.read(); b >= 0; b = in.read()) {
                if (b == '\n') {
                    if (matched == END_PREFIX.length
                            && JournalRecord.parse(line.toString(StandardCharsets.UTF_8)) instanceof JournalRecord.End) {
                        return true;
                    }
                    matched = 0;
                    line.reset();
                } else if (matched >= 0) {
                    if (matched < END_PREFIX.length) {
                        matched = END_PREFIX[matched] == b ? matched + 1 : -1;
                    }
                    if (matched >= 0) {
                        line.write(b);
                    }
                }
            }
            return false;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    public synchronized void write(JournalRecord record) {
        try {
            out.write((record.toLine() + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the run's journal: " + e.getMessage(), e);
        }
    }

    @Override
    public void started(RunLocator handle) {
        // The agent's supervisor locates the run as a local one: this process and the command on this host.
        ProcessLocation p = ProcessLocation.parse(handle.value());
        write(new JournalRecord.Started(p.supervisorPid(), p.supervisorStart(), p.pid(), p.processStart()));
    }

    @Override
    public void commandExited() {
        write(new JournalRecord.Exited());
    }

    @Override
    public void metrics(List<MetricPoint> points) {
        for (int i = 0; i < points.size(); i += POINTS_PER_LINE) {
            write(new JournalRecord.Metrics(points.subList(i, Math.min(points.size(), i + POINTS_PER_LINE))));
        }
    }

    @Override
    public void saved(List<ArtifactRecord> files) {
        write(new JournalRecord.Saved(files));
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
