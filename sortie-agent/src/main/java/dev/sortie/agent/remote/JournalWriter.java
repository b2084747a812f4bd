package dev.sortie.agent.remote;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunHandle;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The agent's side of the journal: a {@link RunListener} that appends what the run reports, one record per line,
 * each line written whole and flushed at once (followers read only complete lines, so a line is never seen torn).
 */
public final class JournalWriter implements RunListener, AutoCloseable {
    /** A burst of metrics is split so no journal line grows past a few MB. */
    static final int POINTS_PER_LINE = 10_000;
    private final OutputStream out;

    public JournalWriter(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
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
    public void started(RunHandle handle) {
        write(new JournalRecord.Started(handle.supervisorPid(), handle.supervisorStart(), handle.pid(), handle.processStart()));
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
