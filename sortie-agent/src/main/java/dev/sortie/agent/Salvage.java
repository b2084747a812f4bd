package dev.sortie.agent;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Recovers what a run left when the process watching it died: every metric in its log (re-read from the start;
 * the ledger's upserts make that idempotent), its metric files, and its checkpoints and artifacts.
 */
public final class Salvage {
    private Salvage() {
    }

    public static void collect(WorkFolders folders, Path logFile, Path eventsFile, BlobStore store, RunListener listener) throws IOException {
        MetricCollector metrics = MetricCollector.afterTheRun(folders.task(), folders.cwd());
        List<MetricPoint> points = new ArrayList<>();
        if (Files.exists(logFile)) {
            try (LogTailer tailer = new LogTailer(logFile, 0, LogTailer.OUTPUT_LINE_LIMIT)) {
                tailer.drain(line -> points.addAll(metrics.line(line, Instant.now())));
            }
        }
        List<RunEvents.Artifact> requested = new ArrayList<>();
        if (eventsFile != null && Files.exists(eventsFile)) {
            RunEventDispatch events = new RunEventDispatch(metrics, new RunEventDispatch.Handler() {
                @Override
                public void metrics(List<MetricPoint> p) {
                    points.addAll(p);
                }

                @Override
                public void artifact(RunEvents.Artifact a) {
                    requested.add(a);
                }
            });
            try (LogTailer tailer = new LogTailer(eventsFile, 0)) {
                tailer.drain(events::line);
            }
        }
        if (Files.isDirectory(folders.cwd())) {
            points.addAll(metrics.pollFiles());
        }
        if (!points.isEmpty()) {
            listener.metrics(points);
        }
        if (Files.isDirectory(folders.root())) {
            OutputCollector outputs = new OutputCollector(folders.root(), store);
            List<ArtifactRecord> saved = new ArrayList<>(outputs.save(ArtifactKind.CHECKPOINT, folders.checkpoints()));
            List<String> artifacts = new ArrayList<>(folders.artifacts());
            DvcPlotFiles.afterTheRun(folders.root(), folders.cwd()).record().stream().filter(p -> !artifacts.contains(p)).forEach(artifacts::add);
            saved.addAll(outputs.save(ArtifactKind.ARTIFACT, artifacts));
            for (RunEvents.Artifact a : requested) {
                saved.addAll(outputs.saveRequested(a.kind(), a.path(), folders.cwd()));
            }
            if (!saved.isEmpty()) {
                listener.saved(saved);
            }
        }
    }
}
