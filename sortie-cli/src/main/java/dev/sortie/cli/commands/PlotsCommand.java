package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sortie.cli.output.DvcPlotSet;
import dev.sortie.cli.output.PlotsModel;
import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsPng;
import dev.sortie.cli.output.PlotsSvg;
import dev.sortie.core.dvc.DvcPlot;
import dev.sortie.core.dvc.DvcPlots;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "plots", mixinStandardHelpOptions = true,
        description = {"Draw the step series of experiments: one chart per metric, one line per experiment.",
                "Writes one self-contained HTML file (inline SVG; hover a point for its step and value) or a PNG.",
                "System metrics (sys/*) are drawn against seconds since the run started; a metric with one value per",
                "experiment (a final score) is a value in a table, not a chart of one point.",
                "DVC's plots the runs wrote (dvc.yaml's plots:, dvclive's ROC, precision-recall, confusion matrix, images)",
                "are drawn beside them: curves one line per experiment, a confusion matrix and the images per experiment."},
        footer = {"", "Examples:",
                "  sortie plots fast slow                 # every metric, to sortie-plots.html",
                "  sortie plots fast slow --metric loss,acc -o runs.html",
                "  sortie plots fast -o fast.png          # the charts stacked in one image",
                "The file type follows the name: .html (or .htm) or .png. --json prints what was written, for programs."})
public final class PlotsCommand extends ContextCommand {
    static final String DEFAULT_FILE = "sortie-plots.html";

    @Parameters(arity = "1..*", paramLabel = "EXP", description = "Experiment names or ids.")
    List<String> experiments;

    @Option(names = "--metric", paramLabel = "M", split = ",",
            description = "A metric to draw (repeatable, or comma-separated; default: every metric of the experiments, "
                    + "and their DVC plots).")
    List<String> metrics;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Where to write: a .html or .png file (default: " + DEFAULT_FILE + " in the working folder).")
    Path output;

    @Option(names = "--json", description = "Print the file written, its charts and experiments as JSON on stdout.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        Path file = context().workingDir().resolve(output == null ? Path.of(DEFAULT_FILE) : output).toAbsolutePath().normalize();
        Kind kind = Kind.of(file);
        dev.sortie.cli.access.Experiments where = experiments();
        Set<String> seen = new LinkedHashSet<>();
        List<Experiment> exps = new ArrayList<>();
        List<PlotsModel.Source> sources = new ArrayList<>();
        for (String ref : experiments) {
            dev.sortie.core.model.ExperimentView v = where.view(ref);
            Experiment e = v.experiment();
            if (seen.add(e.id())) {
                exps.add(e);
                sources.add(new PlotsModel.Source(e.name(), v.metrics().keySet(), key -> where.series(e.id(), key), e.startedAt()));
            }
        }
        PlotsModel.Plots plots = PlotsModel.plots(sources, metrics);
        // DVC's plots are drawn with every metric; --metric picks metrics alone
        DvcPlotSet dvc = metrics == null || metrics.isEmpty() ? dvcPlots(where, exps) : DvcPlotSet.of(List.of());
        for (String problem : dvc.problems()) {
            err().println("sortie: a DVC plot is not drawn: " + problem);
        }
        List<Chart> charts = new ArrayList<>(plots.charts());
        charts.addAll(dvc.curves());
        List<PlotsModel.Value> values = plots.values();
        if (plots.isEmpty() && dvc.isEmpty()) {
            throw new IllegalArgumentException((exps.size() == 1 ? exps.get(0).name() + " has" : "these experiments have")
                    + " no metrics to plot yet");
        }

        if (kind == Kind.PNG && charts.isEmpty()) {
            throw new IllegalArgumentException("nothing to draw: " + values.stream().map(PlotsModel.Value::metric).toList()
                    + " have one value per experiment (a table in HTML: -o plots.html; or sortie show)");
        }
        List<String> names = exps.stream().map(Experiment::name).toList();
        Path parent = file.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        // written beside the target and moved into place, so a reader never sees half a file
        // (a plain new file, not createTempFile, so it gets the umask's permissions rather than owner-only)
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            if (kind == Kind.PNG) {
                PlotsPng.write(charts, PlotsPng.WIDTH, PlotsPng.PLOT_HEIGHT, tmp);
            } else {
                String sub = String.join(", ", names) + " · " + count(charts.size(), "chart")
                        + (values.isEmpty() ? "" : " · " + count(values.size(), "single value"))
                        + (dvc.matrices().isEmpty() ? "" : " · " + dvc.matrices().size() + (dvc.matrices().size() == 1 ? " confusion matrix" : " confusion matrices"))
                        + (dvc.images().isEmpty() ? "" : " · " + count(dvc.images().size(), "image"));
                Files.writeString(tmp, PlotsSvg.html("Sortie plots: " + String.join(", ", names), sub, charts, values, dvc.html()),
                        StandardCharsets.UTF_8);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }

        err().println("sortie: wrote " + count(charts.size(), "chart") + (kind == Kind.HTML && !values.isEmpty()
                ? " and " + count(values.size(), "single value") : "") + " of " + count(exps.size(), "experiment") + " to " + file);
        if (kind == Kind.PNG && (!dvc.matrices().isEmpty() || !dvc.images().isEmpty())) {
            err().println("  DVC's confusion matrices and images are in the HTML output only (-o plots.html)");
        }
        if (kind == Kind.PNG && !values.isEmpty()) {
            // a PNG holds charts only: the single values are said here rather than drawn as one-point charts
            for (PlotsModel.Value v : values) {
                StringBuilder line = new StringBuilder("  " + v.metric() + ":");
                for (int i = 0; i < v.experiments().size(); i++) {
                    Double d = v.values().get(i);
                    line.append(' ').append(v.experiments().get(i)).append('=').append(d == null ? "" : PlotsModel.formatValue(d));
                }
                err().println(line);
            }
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", file.toString());
            m.put("format", kind.name().toLowerCase(Locale.ROOT));
            m.put("experiments", names);
            List<Map<String, Object>> cs = new ArrayList<>();
            for (Chart c : charts) {
                Map<String, Object> cm = new LinkedHashMap<>();
                cm.put("metric", c.metric());
                cm.put("experiments", c.series().stream().map(PlotsModel.Series::name).toList());
                cm.put("points", c.points());
                cm.put("x", c.x());
                cs.add(cm);
            }
            m.put("charts", cs);
            List<Map<String, Object>> vs = new ArrayList<>();
            for (PlotsModel.Value v : values) {
                Map<String, Object> vm = new LinkedHashMap<>();
                vm.put("metric", v.metric());
                Map<String, Object> per = new LinkedHashMap<>();
                for (int i = 0; i < v.experiments().size(); i++) {
                    per.put(v.experiments().get(i), v.values().get(i));
                }
                vm.put("values", per);
                vs.add(vm);
            }
            m.put("values", vs);
            List<Map<String, Object>> ms = new ArrayList<>();
            for (DvcPlotSet.Matrix x : dvc.matrices()) {
                Map<String, Object> mm = new LinkedHashMap<>();
                mm.put("title", x.title());
                mm.put("experiment", x.experiment());
                mm.put("labels", x.confusion().labels());
                mm.put("counts", x.confusion().counts());
                ms.add(mm);
            }
            m.put("confusion_matrices", ms);
            List<Map<String, Object>> is = new ArrayList<>();
            for (DvcPlotSet.Image x : dvc.images()) {
                Map<String, Object> im = new LinkedHashMap<>();
                im.put("title", x.title());
                im.put("experiment", x.experiment());
                im.put("path", x.path());
                im.put("type", x.type());
                is.add(im);
            }
            m.put("images", is);
            out().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
        }
        return 0;
    }

    /**
     * The DVC plots each experiment recorded (its {@link DvcPlots#MANIFEST} and the files it names), each experiment
     * in its own colour, as the metric charts colour it.
     */
    private DvcPlotSet dvcPlots(dev.sortie.cli.access.Experiments where, List<Experiment> exps) throws IOException {
        List<DvcPlotSet.Loaded> loaded = new ArrayList<>();
        Path tmp = Files.createTempDirectory("sortie-plots");
        try {
            for (int i = 0; i < exps.size(); i++) {
                Experiment e = exps.get(i);
                // the latest saved version of each path (a resumed run may save a file again)
                Map<String, ArtifactRecord> files = new LinkedHashMap<>();
                for (ArtifactRecord r : where.artifacts(e.id())) {
                    if (r.kind() == ArtifactKind.ARTIFACT) {
                        ArtifactRecord had = files.get(r.path());
                        if (had == null || !r.savedAt().isBefore(had.savedAt())) {
                            files.put(r.path(), r);
                        }
                    }
                }
                ArtifactRecord manifest = files.get(DvcPlots.MANIFEST);
                if (manifest == null) {
                    continue;
                }
                List<DvcPlot> listed;
                try {
                    listed = DvcPlots.readManifest(read(where, e, manifest, tmp));
                } catch (IOException | RuntimeException x) {
                    // the metric charts and the other experiments' plots are still drawn
                    err().println("sortie: the DVC plots of " + e.name() + " are not drawn: " + DvcPlots.MANIFEST + ": " + x.getMessage());
                    continue;
                }
                for (DvcPlot p : listed) {
                    ArtifactRecord f = files.get(p.path());
                    if (f != null) {
                        loaded.add(new DvcPlotSet.Loaded(e.name(), i, p, read(where, e, f, tmp)));
                    }
                }
            }
        } finally {
            try (java.util.stream.Stream<Path> walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        return DvcPlotSet.of(loaded);
    }

    private static byte[] read(dev.sortie.cli.access.Experiments where, Experiment e, ArtifactRecord r, Path tmp) throws IOException {
        Path f = tmp.resolve(r.hash());
        if (!Files.exists(f)) {
            where.download(e.id(), r, f);
        }
        return Files.readAllBytes(f);
    }

    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    enum Kind {
        HTML, PNG;

        static Kind of(Path file) {
            String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".png")) {
                return PNG;
            }
            if (name.endsWith(".html") || name.endsWith(".htm")) {
                return HTML;
            }
            throw new IllegalArgumentException("-o " + file.getFileName() + ": name a .html or a .png file");
        }
    }
}
