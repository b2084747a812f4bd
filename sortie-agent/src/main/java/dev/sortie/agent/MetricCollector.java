package dev.sortie.agent;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.dvc.DvcPipeline;
import dev.sortie.core.metrics.MetricFileReader;
import dev.sortie.core.metrics.MetricLineParser;
import dev.sortie.core.metrics.RawMetric;
import dev.sortie.core.metrics.StepCounter;
import dev.sortie.core.model.MetricPoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gathers a run's metrics from its output lines and its metric files. Output lines are parsed as they come;
 * metric files are re-read on each {@link #pollFiles()} and only values that changed are reported, so
 * polling often costs the ledger nothing when the run is quiet. The metric files are those of sortie.yaml, dvclive's
 * default one, and those the work copy's {@code dvc.yaml} declares (top-level and stage {@code metrics:}), so a DVC
 * project need not repeat them. Names are DVC's: where two files hold the same name, each is prefixed with its file
 * ({@code eval/metrics.json:acc}), as {@code dvc exp show} prefixes them.
 */
public final class MetricCollector {
    private static final System.Logger LOG = System.getLogger(MetricCollector.class.getName());
    /** dvclive's default folder: read without configuration, so a dvclive script needs no change. */
    static final String DVCLIVE_DEFAULT = "dvclive/metrics.json";
    private final MetricLineParser parser;
    private final StepCounter steps = new StepCounter();
    private final StepCounter eventSteps = new StepCounter();
    private final List<Path> files;
    /** Each metric file as the user names it (relative to the work folder), for DVC's prefix of clashing names. */
    private final Map<Path, String> fileNames = new HashMap<>();
    private final Map<String, Double> fileValues = new HashMap<>();
    /**
     * The metric files that were there before the run, as they were: a file counts only once the run wrote or
     * changed it, so a metrics file committed with the code is not recorded as the run's own.
     */
    private final Map<Path, FileState> untouched = new HashMap<>();

    /** A collector for a run about to start: the metric files already there count only once the run changes them. */
    public MetricCollector(TaskConfig task, Path workdir) {
        this(task, workdir, true);
    }

    /**
     * A collector for what a run left after its watcher died ({@link Salvage}): what the files were before the run
     * is not known any more, so every metric file there counts.
     */
    static MetricCollector afterTheRun(TaskConfig task, Path workdir) {
        return new MetricCollector(task, workdir, false);
    }

    private MetricCollector(TaskConfig task, Path workdir, boolean baseline) {
        this.parser = new MetricLineParser(task.metricPatterns());
        Set<Path> f = new LinkedHashSet<>();
        List<String> names = new ArrayList<>(task.metricFiles());
        names.addAll(declaredByDvc(workdir));
        names.add(DVCLIVE_DEFAULT);
        for (String m : names) {
            Path file = workdir.resolve(m).normalize();
            if (f.add(file)) {
                fileNames.put(file, workdir.normalize().relativize(file).toString().replace('\\', '/'));
            }
        }
        this.files = List.copyOf(f);
        for (Path file : baseline ? files : List.<Path>of()) {
            FileState state = FileState.of(file);
            if (state != null) {
                untouched.put(file, state);
            }
        }
    }

    public List<MetricPoint> line(String line, Instant time) {
        List<RawMetric> raw = parser.parse(line);
        return raw.isEmpty() ? List.of() : steps.assign(raw, time);
    }

    /** The points of an SDK metrics event; values without a step continue each metric's SDK series. */
    public List<MetricPoint> event(RunEvents.Metrics m, Instant time) {
        List<RawMetric> raw = new ArrayList<>(m.values().size());
        for (Map.Entry<String, Double> e : m.values().entrySet()) {
            raw.add(new RawMetric(e.getKey(), e.getValue(), m.step()));
        }
        return eventSteps.assign(raw, time);
    }

    /** The metric files the work copy's dvc.yaml declares; none when there is none, or it cannot be read (logged). */
    private static List<String> declaredByDvc(Path workdir) {
        if (!Files.isRegularFile(workdir.resolve(DvcPipeline.FILE_NAME))) {
            return List.of();
        }
        try {
            return DvcPipeline.read(workdir.resolve(DvcPipeline.FILE_NAME)).metricFiles();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the metrics of dvc.yaml are not read: {0}", e.getMessage());
            return List.of();
        }
    }

    /** Values in the metric files that are new or changed since the last poll. Files without a step count as step 0. */
    public List<MetricPoint> pollFiles() {
        List<MetricPoint> out = new ArrayList<>();
        Instant now = Instant.now();
        Map<Path, List<RawMetric>> read = new java.util.LinkedHashMap<>();
        Map<String, Integer> filesOfName = new HashMap<>();
        for (Path file : files) {
            if (!Files.isRegularFile(file) || stillUntouched(file)) {
                continue;
            }
            List<RawMetric> metrics = MetricFileReader.read(file);
            read.put(file, metrics);
            metrics.stream().map(RawMetric::key).distinct().forEach(k -> filesOfName.merge(k, 1, Integer::sum));
        }
        for (Map.Entry<Path, List<RawMetric>> e : read.entrySet()) {
            for (RawMetric r : e.getValue()) {
                long step = r.step() == null ? 0 : r.step();
                String key = filesOfName.get(r.key()) > 1 ? fileNames.get(e.getKey()) + ":" + r.key() : r.key();
                String id = key + '\u0000' + step;
                Double before = fileValues.put(id, r.value());
                if (before == null || Double.compare(before, r.value()) != 0) {
                    out.add(new MetricPoint(key, step, r.value(), now));
                }
            }
        }
        return out;
    }

    private boolean stillUntouched(Path file) {
        FileState before = untouched.get(file);
        if (before == null) {
            return false;
        }
        if (before.equals(FileState.of(file))) {
            return true;
        }
        untouched.remove(file);
        return false;
    }

    /** What tells a rewritten file: its time, its size and a digest of its bytes (a rewrite in the same clock tick). */
    private record FileState(long modifiedNanos, long size, String digest) {
        static FileState of(Path file) {
            try {
                if (!Files.isRegularFile(file)) {
                    return null;
                }
                long modified = Files.getLastModifiedTime(file).to(java.util.concurrent.TimeUnit.NANOSECONDS);
                byte[] bytes = Files.readAllBytes(file);
                byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
                return new FileState(modified, bytes.length, java.util.HexFormat.of().formatHex(d));
            } catch (java.io.IOException e) {
                return null;
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
