package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sortie.yaml {@code sortie init} writes in a DVC project (one with a {@code dvc.yaml}): it runs the pipeline
 * ({@code dvc repro}), takes its params from {@code params.yaml} (read when {@code params:} is absent) and records the
 * metrics files dvc.yaml declares; its plots are kept as artifacts. The template of a plain project would not run
 * there, so it is never written in one.
 */
record DvcInitTemplate(List<String> metrics, List<String> plots, boolean paramsFile) {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The template for {@code dir}, or null when it holds no dvc.yaml. */
    static DvcInitTemplate of(Path dir) throws IOException {
        Path dvcYaml = dir.resolve("dvc.yaml");
        if (!Files.isRegularFile(dvcYaml)) {
            return null;
        }
        JsonNode root;
        try {
            root = YAML.readTree(dvcYaml.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(dvcYaml + ": not a YAML file DVC could read (" + e.getMessage()
                    + "); fix it or write sortie.yaml by hand");
        }
        Set<String> metrics = new LinkedHashSet<>();
        Set<String> plots = new LinkedHashSet<>();
        if (root != null) {
            paths(root.get("metrics"), metrics);
            paths(root.get("plots"), plots);
            JsonNode stages = root.get("stages");
            if (stages != null) {
                for (Iterator<Map.Entry<String, JsonNode>> it = stages.fields(); it.hasNext(); ) {
                    JsonNode stage = it.next().getValue();
                    paths(stage.get("metrics"), metrics);
                    paths(stage.get("plots"), plots);
                }
            }
        }
        plots.removeIf(p -> !p.contains("/") && !p.contains(".")); // a top-level plot named by id, not a file
        return new DvcInitTemplate(new ArrayList<>(metrics), new ArrayList<>(plots), Files.isRegularFile(dir.resolve("params.yaml")));
    }

    /** The paths of a dvc.yaml list: strings, or one-key maps {@code {path: {options}}}. */
    private static void paths(JsonNode list, Set<String> out) {
        if (list == null || !list.isArray()) {
            return;
        }
        for (JsonNode item : list) {
            if (item.isTextual()) {
                out.add(item.asText());
            } else if (item.isObject() && item.size() == 1) {
                out.add(item.fieldNames().next());
            }
        }
    }

    String yaml(String name) {
        StringBuilder s = new StringBuilder();
        s.append("# Sortie task for this DVC project: each experiment runs the pipeline of dvc.yaml.\n");
        s.append("name: ").append(name).append('\n');
        s.append("run: dvc repro\n");
        s.append(paramsFile
                ? "# params: params.yaml, DVC's file, is read as it is; override with -S key=value (nested: -S train.lr=0.1)\n"
                : "# params: none yet; DVC's params.yaml is read when it exists\n");
        if (!metrics.isEmpty()) {
            s.append("metrics: [").append(String.join(", ", quoted(metrics))).append("]   # as dvc.yaml declares them\n");
        }
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
                + (metrics.isEmpty() ? "" : ", metrics " + String.join(", ", metrics))
                + (plots.isEmpty() ? "" : ", plots " + String.join(", ", plots) + " kept as artifacts");
    }
}
