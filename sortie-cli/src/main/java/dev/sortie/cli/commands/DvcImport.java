package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.YamlDocument;
import dev.sortie.core.metrics.MetricFileReader;
import dev.sortie.core.metrics.RawMetric;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import dev.sortie.store.DvcExperimentRefs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One DVC experiment read from its commit as a Sortie run of the same project would have recorded it: params from its
 * params.yaml (whole, as a run reads the params file), metrics from the files its dvc.yaml declares and dvclive's
 * default {@code dvclive/metrics.json} with the step series beside it, read by the same reader a run's files go
 * through, so names and steps are the same as a Sortie run of that pipeline gets.
 */
final class DvcImport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PARAMS_FILE = "params.yaml";
    private static final String DVCLIVE_METRICS = "dvclive/metrics.json";
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final java.util.regex.Pattern ID_LIKE = java.util.regex.Pattern.compile("[0-9a-f]{4,10}");

    private DvcImport() {
    }

    /** What one experiment brings: its params and metric points, the task that reruns it, and (once recorded) its record. */
    record Imported(DvcExperimentRefs.Found found, Params params, List<MetricPoint> metrics, DvcInitTemplate template,
                    Experiment experiment) {
        Imported as(Experiment e) {
            return new Imported(found, params, metrics, template, e);
        }

        /** Each metric's value at its highest step, as the table shows it. */
        Map<String, Double> latest() {
            Map<String, MetricPoint> last = new LinkedHashMap<>();
            for (MetricPoint p : metrics) {
                last.merge(p.key(), p, (a, b) -> b.step() >= a.step() ? b : a);
            }
            Map<String, Double> out = new LinkedHashMap<>();
            last.forEach((k, p) -> out.put(k, p.value()));
            return out;
        }
    }

    static Imported read(DvcExperimentRefs refs, DvcExperimentRefs.Found f) throws IOException {
        Path tmp = Files.createTempDirectory("sortie-import-dvc");
        try {
            String where = "DVC experiment '" + f.name() + "' (commit " + f.commit().substring(0, 7) + ")";
            Params params = Params.empty();
            var paramsBytes = refs.read(f.commit(), PARAMS_FILE);
            if (paramsBytes.isPresent()) {
                try {
                    YamlDocument doc = YamlDocument.parse(Path.of(PARAMS_FILE),
                            new String(paramsBytes.get(), StandardCharsets.UTF_8));
                    if (doc.root().isObject()) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> m = JSON.convertValue(doc.root(), LinkedHashMap.class);
                        params = Params.of(m);
                    } else if (!doc.root().isMissingNode() && !doc.root().isNull()) {
                        throw new ConfigException("params.yaml holds " + YamlDocument.typeName(doc.root()) + "; expected a mapping of params");
                    }
                } catch (ConfigException e) {
                    throw new ConfigException(where + ": " + e.getMessage());
                }
                write(tmp, PARAMS_FILE, paramsBytes.get());
            }
            // dvc.yaml as it was in the experiment: its metrics files, and the task that would run it again
            var dvcYaml = refs.read(f.commit(), "dvc.yaml");
            if (dvcYaml.isPresent()) {
                write(tmp, "dvc.yaml", dvcYaml.get());
            }
            DvcInitTemplate template;
            try {
                template = dvcYaml.isPresent() ? DvcInitTemplate.of(tmp)
                        : new DvcInitTemplate(List.of(), List.of(), paramsBytes.isPresent());
            } catch (ConfigException e) {
                throw new ConfigException(where + ": " + e.getMessage().replace(tmp.toString() + "/", ""));
            }
            Set<String> files = new LinkedHashSet<>(template.metrics());
            files.add(DVCLIVE_METRICS);
            List<MetricPoint> points = new ArrayList<>();
            for (String file : files) {
                String rel = Path.of(file).normalize().toString().replace('\\', '/');
                if (rel.startsWith("../") || Path.of(rel).isAbsolute()) {
                    continue; // outside the project: not in its commit
                }
                var bytes = refs.read(f.commit(), rel);
                if (bytes.isEmpty()) {
                    // not in git: a metrics file DVC caches (cache: true) or one the experiment never wrote
                    System.getLogger(DvcImport.class.getName()).log(System.Logger.Level.DEBUG,
                            "{0}: metrics file {1} is not in its commit", where, rel);
                    continue;
                }
                write(tmp, rel, bytes.get());
                if (rel.endsWith("metrics.json")) {
                    String dir = rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/') + 1) : "";
                    for (Map.Entry<String, byte[]> tsv : refs.readTree(f.commit(), dir + "plots/metrics").entrySet()) {
                        write(tmp, tsv.getKey(), tsv.getValue());
                    }
                }
                for (RawMetric r : MetricFileReader.read(tmp.resolve(rel))) {
                    points.add(new MetricPoint(r.key(), r.step() == null ? 0 : r.step(), r.value(), f.created()));
                }
            }
            return new Imported(f, params, points, template, null);
        } finally {
            try (Stream<Path> all = Files.walk(tmp)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void write(Path root, String rel, byte[] bytes) throws IOException {
        Path p = root.resolve(rel).normalize();
        if (!p.startsWith(root)) {
            return;
        }
        Files.createDirectories(p.getParent());
        Files.write(p, bytes);
    }

    /**
     * The experiment's name in the table: DVC's, where it is a valid name not yet taken (DVC's names are unique per
     * baseline only); else DVC's name with the baseline's short sha, then a number.
     */
    static String freeName(DvcExperimentRefs.Found f, Set<String> taken) {
        String base = f.name().replaceAll("[^A-Za-z0-9._-]", "-");
        if (base.isEmpty() || !Character.isLetterOrDigit(base.charAt(0)) || ID_LIKE.matcher(base).matches()) {
            base = "dvc-" + base;
        }
        if (base.length() > 90) {
            base = base.substring(0, 90);
        }
        if (NAME.matcher(base).matches() && !taken.contains(base)) {
            return base;
        }
        String withBaseline = base + "-" + f.baseline().substring(0, 7);
        String name = withBaseline;
        for (int n = 2; taken.contains(name); n++) {
            name = withBaseline + "-" + n;
        }
        return name;
    }

    /** The task name a rerun of an imported experiment gets: the project folder's, as 'sortie init' names it. */
    static String taskName(Path project) {
        Path f = project.toAbsolutePath().normalize().getFileName();
        String n = f == null ? "dvc" : f.toString().replaceAll("[^A-Za-z0-9._-]", "-");
        return n.isEmpty() || !Character.isLetterOrDigit(n.charAt(0)) ? "dvc" + n : n;
    }
}
