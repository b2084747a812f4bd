package dev.sortie.agent;

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
 * What a run of a DVC pipeline keeps with the experiment, as {@code dvc exp} keeps it: {@code dvc.lock} (the hash of
 * every out, whose contents are in the DVC cache) and the outs DVC does not cache ({@code cache: false}: metrics and
 * plots files), which no {@code dvc checkout} could bring back. {@code sortie apply} restores them, then checks the
 * cached outs out, so {@code dvc status} is clean afterwards.
 */
final class DvcResults {
    private static final System.Logger LOG = System.getLogger(DvcResults.class.getName());
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private DvcResults() {
    }

    /** The paths (relative to {@code cwd}) to save at a run's end; empty where {@code cwd} has no {@code dvc.yaml}. */
    static List<String> paths(Path cwd) {
        Path dvcYaml = cwd.resolve("dvc.yaml");
        if (!Files.isRegularFile(dvcYaml)) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        out.add("dvc.lock");
        try {
            JsonNode root = YAML.readTree(dvcYaml.toFile());
            if (root != null) {
                uncached(root.path("metrics"), out);
                uncached(root.path("plots"), out);
                for (JsonNode stage : root.path("stages")) {
                    for (String field : List.of("outs", "metrics", "plots")) {
                        uncached(stage.path(field), out);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "{0} could not be read ({1}); only dvc.lock is kept with the experiment", dvcYaml, e);
        }
        return new ArrayList<>(out);
    }

    /** Entries of a list of outs ({@code - path} or {@code - path: {cache: false}}) that are not cached. */
    private static void uncached(JsonNode list, Set<String> out) {
        if (!list.isArray()) {
            return;
        }
        for (JsonNode entry : list) {
            if (!entry.isObject()) {
                continue; // a plain path: cached
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = entry.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode cache = e.getValue().path("cache");
                if (cache.isBoolean() && !cache.asBoolean() && !e.getKey().contains("${")) {
                    out.add(e.getKey());
                }
            }
        }
    }
}
