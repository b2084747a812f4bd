package dev.sortie.core.dvc;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The plots DVC would draw for a project's run, found as {@code dvc plots show} finds them: the {@code plots:} of
 * {@code dvc.yaml} (top level, with a plot id whose {@code y} maps files to fields, or a file or folder with its
 * options; and each stage's), and dvclive's: what its own {@code dvclive/dvc.yaml} declares or, without it, its
 * standard files ({@code plots/sklearn/*.json}, {@code plots/custom/*.json}, {@code plots/images/*}). dvclive's
 * {@code plots/metrics} folder is left out: those are the step series Sortie records as metrics and charts already.
 * A folder stands for the files in it. Paths come back relative to the folder given, '/'-separated.
 */
public final class DvcPlots {
    /** Where the run's plots are listed, beside its files, so readers know how to draw them. */
    public static final String MANIFEST = ".sortie/dvc-plots.json";
    static final String DVCLIVE = "dvclive";

    private static final System.Logger LOG = System.getLogger(DvcPlots.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private DvcPlots() {
    }

    /** The plots declared for a run in {@code cwd}, each file once per y-field set, whether the file exists or not. */
    public static List<DvcPlot> declared(Path cwd) {
        Map<String, DvcPlot> out = new LinkedHashMap<>();
        DvcPipeline pipeline = null;
        try {
            pipeline = DvcPipeline.find(cwd).orElse(null);
        } catch (ConfigException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.WARNING, "the plots of {0} are not recorded: {1}", cwd.resolve(DvcPipeline.FILE_NAME), e.getMessage());
        }
        if (pipeline != null) {
            fromPipeline(cwd, "", pipeline, out);
        }
        Path live = cwd.resolve(DVCLIVE);
        DvcPipeline livePipeline = null;
        try {
            livePipeline = DvcPipeline.find(live).orElse(null);
        } catch (ConfigException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "dvclive''s dvc.yaml not read ({0}); its standard plot files are used", e.getMessage());
        }
        if (livePipeline != null) {
            fromPipeline(cwd, DVCLIVE + "/", livePipeline, out);
        }
        // dvclive without a dvc.yaml of its own (Live(dvcyaml=None)): its files by their standard names
        dvcliveDefaults(cwd, out);
        return List.copyOf(out.values());
    }

    private static void fromPipeline(Path cwd, String prefix, DvcPipeline p, Map<String, DvcPlot> out) {
        for (DvcPipeline.Plot plot : p.plots()) {
            Map<String, Object> o = plot.options();
            if (o.get("y") instanceof Map<?, ?> files) {
                // a plot id: y names the files and their fields, x a field or a field per file
                for (Map.Entry<?, ?> f : files.entrySet()) {
                    String file = prefix + String.valueOf(f.getKey());
                    Object x = o.get("x") instanceof Map<?, ?> xs ? xs.get(f.getKey()) : o.get("x");
                    add(cwd, file, str(o.get("template")), str(x), fields(f.getValue()), titleOr(o, plot.id()), out);
                }
            } else {
                add(cwd, prefix + plot.id(), str(o.get("template")), str(o.get("x")), fields(o.get("y")), titleOr(o, null), out);
            }
        }
        for (DvcPipeline.Stage stage : p.stages().values()) {
            for (DvcPipeline.Out plot : stage.plots()) {
                Map<String, Object> o = plot.options();
                add(cwd, prefix + stage.resolve(plot.path()).replace('\\', '/'), str(o.get("template")), str(o.get("x")),
                        fields(o.get("y")), titleOr(o, null), out);
            }
        }
    }

    private static void dvcliveDefaults(Path cwd, Map<String, DvcPlot> out) {
        for (String file : files(cwd, DVCLIVE + "/plots/sklearn")) {
            String name = file.substring(file.lastIndexOf('/') + 1);
            switch (name) {
                case "roc.json" -> add(cwd, file, "simple", "fpr", List.of("tpr"), "Receiver operating characteristic (ROC)", out);
                case "precision_recall.json" -> add(cwd, file, "simple", "recall", List.of("precision"), "Precision-Recall Curve", out);
                case "det.json" -> add(cwd, file, "simple", "fpr", List.of("fnr"), "Detection error tradeoff (DET)", out);
                case "calibration.json" -> add(cwd, file, "simple", "prob_pred", List.of("prob_true"), "Calibration Curve", out);
                case "confusion_matrix.json" -> add(cwd, file, "confusion", "actual", List.of("predicted"), "Confusion Matrix", out);
                case "confusion_matrix_normalized.json" -> add(cwd, file, "confusion_normalized", "actual", List.of("predicted"), "Confusion Matrix", out);
                default -> add(cwd, file, null, null, List.of(), null, out);
            }
        }
        for (String file : files(cwd, DVCLIVE + "/plots/custom")) {
            add(cwd, file, null, null, List.of(), null, out);
        }
        for (String file : files(cwd, DVCLIVE + "/plots/images")) {
            add(cwd, file, null, null, List.of(), null, out);
        }
    }

    /** Adds a file, or each plottable file of a folder, unless the same file with the same fields is there already. */
    private static void add(Path cwd, String path, String template, String x, List<String> y, String title, Map<String, DvcPlot> out) {
        String p = Path.of(path).normalize().toString().replace('\\', '/');
        if (p.startsWith("../") || p.startsWith("/") || isDvcliveMetrics(p)) {
            return;
        }
        List<String> paths = Files.isDirectory(cwd.resolve(p)) ? files(cwd, p) : List.of(p);
        for (String f : paths) {
            if (isDvcliveMetrics(f) || !(DvcPlot.isData(f) || DvcPlot.isImage(f))) {
                continue;
            }
            out.putIfAbsent(f + "\u0000" + y, new DvcPlot(f, template, x, y, paths.size() > 1 || title == null ? f : title));
        }
    }

    private static boolean isDvcliveMetrics(String p) {
        return p.equals(DVCLIVE + "/plots/metrics") || p.startsWith(DVCLIVE + "/plots/metrics/");
    }

    /** The regular files under {@code dir} (relative to {@code cwd}), sorted; none when it is not a folder. */
    private static List<String> files(Path cwd, String dir) {
        Path d = cwd.resolve(dir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(d)) {
            return walk.filter(Files::isRegularFile).map(f -> cwd.relativize(f).toString().replace('\\', '/')).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "plots under {0} not listed: {1}", d, e);
            return List.of();
        }
    }

    private static String str(Object o) {
        return o == null ? null : String.valueOf(o);
    }

    private static String titleOr(Map<String, Object> o, String fallback) {
        Object t = o.get("title");
        return t == null ? fallback : String.valueOf(t);
    }

    private static List<String> fields(Object y) {
        if (y == null) {
            return List.of();
        }
        if (y instanceof List<?> l) {
            Set<String> s = new LinkedHashSet<>();
            l.forEach(v -> s.add(String.valueOf(v)));
            return new ArrayList<>(s);
        }
        return List.of(String.valueOf(y));
    }

    /** The manifest's text: the plots, their paths made relative to the work folder's root by {@code prefix}. */
    public static String manifest(List<DvcPlot> plots) {
        try {
            return JSON.writeValueAsString(Map.of("plots", plots));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a manifest written by {@link #manifest}. */
    public static List<DvcPlot> readManifest(byte[] json) throws IOException {
        Map<String, List<DvcPlot>> m = JSON.readValue(json, new TypeReference<Map<String, List<DvcPlot>>>() { });
        List<DvcPlot> plots = m.get("plots");
        return plots == null ? List.of() : List.copyOf(plots);
    }
}
