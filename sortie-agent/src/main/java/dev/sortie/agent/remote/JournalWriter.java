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
    private static final System.Logger LOG = System.getLogger(JournalWriter.class.getName());
    /** A burst of metrics is split so no journal line grows past a few MB. */
    static final int POINTS_PER_LINE = 10_000;
    /** How every end record's line starts ({@link JournalRecord#toLine} puts the type first). */
    private static final byte[] END_PREFIX = "{\"t\":\"end\"".getBytes(StandardCharsets.US_ASCII);
    private final Path file;
    private final OutputStream out;
    /** Space set aside on the journal's disk for the records that end the attempt (see {@link #reserve}); null when none. */
    private Path reserve;
    /** A write failed part way: the next record starts on a line of its own (the torn one is skipped by readers). */
    private boolean torn;
    /** A write failed for want of space once: metrics are written only where they leave room for the end. */
    private boolean full;

    public JournalWriter(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.file = file;
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        this.torn = endsMidLine(file); // an agent that died on a full disk left part of a line: a salvage's end starts anew
    }

    private static boolean endsMidLine(Path file) throws IOException {
        try (java.nio.channels.SeekableByteChannel c = Files.newByteChannel(file)) {
            if (c.size() == 0) {
                return false;
            }
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            c.position(c.size() - 1).read(last);
            return last.get(0) != '\n';
        }
    }

    /**
     * Sets {@code bytes} aside on the journal's disk ({@code journal-N.jsonl.reserve}): when the run fills that disk,
     * the records that say how the attempt went (started, exited, saved, its end, and a note in its log) are
     * written into the room this frees, so a full disk never leaves an attempt without an end. Metrics do not use
     * it: they are kept and tried again (see the supervisor). Returns false when the disk had not even that room.
     */
    public synchronized boolean reserve(int bytes) {
        Path r = file.resolveSibling(file.getFileName() + ".reserve");
        try (OutputStream o = Files.newOutputStream(r)) {
            o.write(new byte[bytes]); // real blocks, not a sparse file: the room must exist when it is given back
            reserve = r;
            return true;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "no room set aside for the end of the run in {0}: {1}", r, e.getMessage());
            try {
                Files.deleteIfExists(r);
            } catch (IOException ex) {
                LOG.log(System.Logger.Level.DEBUG, "could not remove {0}: {1}", r, ex.getMessage());
            }
            return false;
        }
    }

    /** Gives the reserved room back to the disk (see {@link #reserve}); whether there was any. */
    public synchronized boolean releaseReserve() {
        Path r = reserve;
        reserve = null;
        if (r == null) {
            return false;
        }
        try {
            return Files.deleteIfExists(r);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not give back the room set aside in {0}: {1}", r, e.getMessage());
            return false;
        }
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
        byte[] line = (record.toLine() + "\n").getBytes(StandardCharsets.UTF_8);
        boolean metrics = record instanceof JournalRecord.Metrics;
        try {
            if (metrics && full && free() < line.length + 2L * PAGE) {
                // Once the disk was full, metrics are not written into what a record of the end needs (a torn line
                // would take it): they wait in the supervisor, which tries again.
                throw new IOException("No space left on device");
            }
            append(line);
        } catch (IOException e) {
            full = true;
            // A full disk: what says how the attempt went takes some of the room set aside for it; metrics wait.
            if (!metrics && shrinkReserve(line.length)) {
                LOG.log(System.Logger.Level.WARNING, "the disk of {0} is full ({1}): room set aside for the run's end is used",
                        file, e.getMessage());
                try {
                    append(line);
                    return;
                } catch (IOException again) {
                    e = again;
                }
            }
            throw new UncheckedIOException("cannot append to the run's journal " + file + ": " + e.getMessage(), e);
        }
    }

    /** Blocks of a file system (4 KiB on the usual ones; a tmpfs's pages too). */
    private static final int PAGE = 4096;

    /** Free bytes on the journal's disk; 0 when unknown. */
    private long free() {
        try {
            return Files.getFileStore(file).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Gives back enough of the reserve for a line of {@code bytes} (all of it when it is smaller); whether any was. */
    private boolean shrinkReserve(int bytes) {
        Path r = reserve;
        if (r == null) {
            return false;
        }
        long give = ((bytes + PAGE - 1L) / PAGE + 1) * PAGE;
        try (FileChannel c = FileChannel.open(r, StandardOpenOption.WRITE)) {
            if (c.size() > give + PAGE) {
                c.truncate(c.size() - give);
                return true;
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not shrink {0}: {1}", r, e.getMessage());
        }
        return releaseReserve();
    }

    private void append(byte[] line) throws IOException {
        if (torn) {
            // the part of a line written before the disk filled ends here: followers skip it as torn
            out.write('\n');
            torn = false;
        }
        torn = true;
        out.write(line);
        out.flush();
        torn = false;
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
        releaseReserve();
        out.close();
    }
}
