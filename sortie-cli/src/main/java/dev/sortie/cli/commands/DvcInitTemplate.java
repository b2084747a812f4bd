package dev.sortie.cli.commands;

import dev.sortie.core.dvc.DvcPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The sortie.yaml {@code sortie init} writes in a DVC project (one with a {@code dvc.yaml}): it runs the pipeline
 * ({@code dvc repro}), takes its params from {@code params.yaml} (read when {@code params:} is absent); the metrics
 * files dvc.yaml declares are recorded from dvc.yaml itself (so sortie.yaml repeats none of them, and an edit of
 * dvc.yaml needs no edit here); its plots are kept as artifacts. The template of a plain project would not run there,
 * so it is never written in one. dvc.yaml is read by core's {@link DvcPipeline}, as runs read it.
 *
 * @param metrics the metric files dvc.yaml declares (read by every run from dvc.yaml, not written to sortie.yaml)
 * @param plots   the plot files dvc.yaml declares, kept as artifacts
 */
record DvcInitTemplate(List<String> metrics, List<String> plots, boolean paramsFile) {

    /**
     * The template for {@code dir}, or null when it holds no dvc.yaml; a dvc.yaml DVC could not read is a
     * {@link dev.sortie.core.config.ConfigException} naming its line.
     */
    static DvcInitTemplate of(Path dir) {
        DvcPipeline pipeline = DvcPipeline.find(dir).orElse(null);
        if (pipeline == null) {
            return null;
        }
        Set<String> plots = new LinkedHashSet<>();
        for (DvcPipeline.Plot p : pipeline.plots()) {
            if (p.id().contains("/") || p.id().contains(".")) { // a top-level plot named by id is not a file
                plots.add(Path.of(p.id()).normalize().toString());
            }
        }
        for (DvcPipeline.Stage st : pipeline.stages().values()) {
            for (DvcPipeline.Out o : st.plots()) {
                plots.add(st.resolve(o.path()));
            }
        }
        return new DvcInitTemplate(pipeline.metricFiles(), new ArrayList<>(plots), Files.isRegularFile(dir.resolve("params.yaml")));
    }

    String yaml(String name) {
        StringBuilder s = new StringBuilder();
        s.append("# Sortie task for this DVC project: each experiment runs the pipeline of dvc.yaml.\n");
        s.append("name: ").append(name).append('\n');
        s.append("run: dvc repro\n");
        s.append(paramsFile
                ? "# params: params.yaml, DVC's file, is read as it is; override with -S key=value (nested: -S train.lr=0.1)\n"
                : "# params: none yet; DVC's params.yaml is read when it exists\n");
        s.append(metrics.isEmpty()
                ? "# metrics: dvc.yaml declares none; dvclive's and the files dvc.yaml declares later are read from it\n"
                : "# metrics: read from the files dvc.yaml declares (" + String.join(", ", metrics) + "); add others with metrics: [...]\n");
        if (!plots.isEmpty()) {
            s.append("artifacts: [").append(String.join(", ", quoted(plots))).append("]   # dvc.yaml's plots, kept with each experiment\n");
        }
        return s.toString();
    }

    private static List<String> quoted(List<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) {
            out.add(p.matches("[A-Za-z0-9_./-]+") ? p : "'" + p.replace("'", "''") + "'");
        }
        return out;
    }

    String summary() {
        return "run: dvc repro, params from " + (paramsFile ? "params.yaml" : "params.yaml when there is one")
                + (metrics.isEmpty() ? "" : ", metrics from dvc.yaml's " + String.join(", ", metrics))
                + (plots.isEmpty() ? "" : ", plots " + String.join(", ", plots) + " kept as artifacts");
    }
}
