package dev.sortie.core.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads metric files a run writes: DVC/dvclive's {@code metrics.json} (latest values, with {@code step}) and
 * dvclive's step series under {@code plots/metrics/**}{@code /*.tsv} beside it, and any other JSON or YAML file
 * of numbers. Metric names are DVC's, as {@code dvc metrics show} and {@code dvc exp show} print them: nested keys join
 * with '.' ({@code {"roc_auc": {"test": 0.9}}} is {@code roc_auc.test}), and so do the sub-folders of dvclive's series
 * ({@code plots/metrics/train/loss.tsv} is {@code train.loss}, the name of that metric in its metrics.json).
 * Files that are missing or half-written are skipped; they are read again later.
 */
public final class MetricFileReader {
    private static final System.Logger LOG = System.getLogger(MetricFileReader.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new YAMLMapper();

    private MetricFileReader() {
    }

    /** All metrics found in {@code file} and, for a {@code metrics.json}, in the dvclive plots beside it. */
    public static List<RawMetric> read(Path file) {
        List<RawMetric> out = new ArrayList<>();
        out.addAll(readSummary(file));
        Path plots = file.resolveSibling("plots").resolve("metrics");
        if (file.getFileName().toString().equals("metrics.json") && Files.isDirectory(plots)) {
            out.addAll(readPlots(plots));
        }
        return out;
    }

    static List<RawMetric> readSummary(Path file) {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            String name = file.getFileName().toString();
            ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? YAML : JSON;
            JsonNode node = mapper.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                return List.of();
            }
            return MetricLineParser.fromJsonObject(node, ".");
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "metrics file {0} skipped this time (being written? not JSON or YAML?): {1}", file, e);
            return List.of();
        }
    }

    /** dvclive's {@code plots/metrics/<name>.tsv}: a header row naming {@code step} and the metric column. */
    public static List<RawMetric> readPlots(Path plotsDir) {
        List<RawMetric> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(plotsDir)) {
            for (Path tsv : files.filter(p -> p.toString().endsWith(".tsv")).sorted().toList()) {
                String rel = plotsDir.relativize(tsv).toString().replace('\\', '/');
                String metric = rel.substring(0, rel.length() - ".tsv".length()).replace('/', '.');
                String leaf = tsv.getFileName().toString();
                out.addAll(readTsv(tsv, metric, leaf.substring(0, leaf.length() - ".tsv".length())));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "metrics under {0} read only in part: {1}", plotsDir, e);
            return out;
        }
        return out;
    }

    static List<RawMetric> readTsv(Path tsv, String metric, String leaf) throws IOException {
        List<String> lines = Files.readAllLines(tsv, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            return List.of();
        }
        String[] header = lines.get(0).split("\t");
        int stepCol = -1;
        int valueCol = -1;
        for (int i = 0; i < header.length; i++) {
            if (header[i].equals("step")) {
                stepCol = i;
            } else if (header[i].equals(leaf)) {
                valueCol = i;
            }
        }
        if (valueCol < 0) {
            valueCol = header.length - 1;
        }
        List<RawMetric> out = new ArrayList<>();
        // The last line may be half-written while the run is going: only complete lines count.
        int end = lines.size();
        for (int i = 1; i < end; i++) {
            String[] cells = lines.get(i).split("\t");
            if (cells.length != header.length) {
                continue;
            }
            Double v = MetricLineParser.number(cells[valueCol]);
            Double step = stepCol >= 0 ? MetricLineParser.number(cells[stepCol]) : null;
            if (v != null) {
                out.add(new RawMetric(metric, v, step == null ? null : step.longValue()));
            }
        }
        return out;
    }
}
