package dev.sortie.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.metrics.MetricPattern;
import dev.sortie.core.params.Params;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads and validates sortie.yaml into a {@link TaskConfig}. Every error names the file, the line, the field
 * and what would be valid; nothing half-valid gets through to a run.
 */
public final class TaskConfigLoader {
    public static final String FILE_NAME = "sortie.yaml";
    public static final String DEFAULT_PARAMS_FILE = "params.yaml";
    static final List<String> FIELDS = List.of("name", "workdir", "setup", "run", "params", "resources", "checkpoints",
            "artifacts", "metrics", "timeout", "checkpoint_interval", "retries", "max_recoveries", "env", "data");
    private static final java.util.regex.Pattern GPU_MODEL = java.util.regex.Pattern.compile("([A-Za-z][A-Za-z0-9_-]*)(?::(\\d{1,3}))?");
    static final List<String> RESOURCE_FIELDS = List.of("gpus", "cpus", "memory", "disk", "spot");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private TaskConfigLoader() {
    }

    /** Loads {@code projectDir/sortie.yaml}. */
    public static TaskConfig load(Path projectDir) {
        Path file = projectDir.resolve(FILE_NAME);
        return fromDocument(YamlDocument.read(file), projectDir);
    }

    /** Parses sortie.yaml text as it was when an experiment was created (retries run exactly that). */
    public static TaskConfig parse(Path projectDir, String text) {
        return fromDocument(YamlDocument.parse(projectDir.resolve(FILE_NAME), text), projectDir, true);
    }

    /**
     * Parses the sortie.yaml of a recorded experiment without reading its params file: the experiment carries
     * its params, and the workspace's params file may have changed or gone since it was queued.
     */
    public static TaskConfig parseRecorded(Path projectDir, String text) {
        return fromDocument(YamlDocument.parse(projectDir.resolve(FILE_NAME), text), projectDir, false);
    }

    static TaskConfig fromDocument(YamlDocument doc, Path projectDir) {
        return fromDocument(doc, projectDir, true);
    }

    static TaskConfig fromDocument(YamlDocument doc, Path projectDir, boolean readParamsFile) {
        JsonNode root = doc.root();
        if (root.isMissingNode()) {
            throw doc.error("", "the file is empty; it needs at least 'run: <command>' (see 'sortie init')");
        }
        if (!root.isObject()) {
            throw doc.error("", "expected a mapping of fields (" + String.join(", ", FIELDS) + "), found " + YamlDocument.typeName(root));
        }
        doc.requireKnownFields(root, "", FIELDS);

        String defaultName = projectDir.toAbsolutePath().normalize().getFileName() == null ? "experiment"
                : projectDir.toAbsolutePath().normalize().getFileName().toString();
        String name = optionalString(doc, root, "name");
        if (name == null) {
            name = defaultName.replaceAll("[^A-Za-z0-9._-]", "-");
        } else if (!NAME.matcher(name).matches()) {
            throw doc.error("name", "'" + name + "' is not a valid name (letters, digits, '.', '_', '-'; starting with a letter or digit)");
        }
        String workdir = relativePath(doc, root, "workdir");
        if (workdir == null) {
            workdir = ".";
        }
        String setup = optionalString(doc, root, "setup");
        String run = optionalString(doc, root, "run");

        Params params = Params.empty();
        String paramsFile = null;
        JsonNode p = root.get("params");
        if (p == null || p.isNull()) {
            if (Files.isRegularFile(projectDir.resolve(workdir).resolve(DEFAULT_PARAMS_FILE))) {
                paramsFile = DEFAULT_PARAMS_FILE;
            }
        } else if (p.isObject()) {
            params = Params.of(JSON.convertValue(p, LinkedHashMapType.INSTANCE));
        } else if (p.isTextual()) {
            paramsFile = relativePath(doc, root, "params");
        } else {
            throw doc.error("params", "expected a mapping of params (params: {lr: 0.01}) or the name of a params file (params: params.yaml), found "
                    + YamlDocument.typeName(p));
        }
        if (paramsFile != null && readParamsFile) {
            Path pf = projectDir.resolve(workdir).resolve(paramsFile).normalize(); // errors name it without "./"
            if (!Files.isRegularFile(pf)) {
                throw doc.error("params", "params file '" + paramsFile + "' not found in " + projectDir.resolve(workdir).normalize());
            }
            YamlDocument paramsDoc = YamlDocument.read(pf);
            if (paramsDoc.root().isMissingNode()) {
                params = Params.empty();
            } else if (!paramsDoc.root().isObject()) {
                throw paramsDoc.error("", "a params file holds a mapping of params, found " + YamlDocument.typeName(paramsDoc.root()));
            } else {
                params = Params.of(JSON.convertValue(paramsDoc.root(), LinkedHashMapType.INSTANCE));
            }
        }

        Resources resources = resources(doc, root.get("resources"));
        List<String> checkpoints = pathList(doc, root, "checkpoints");
        List<String> artifacts = pathList(doc, root, "artifacts");
        List<String> data = pathList(doc, root, "data");
        List<String> metricFiles = new ArrayList<>();
        List<MetricPattern> patterns = new ArrayList<>();
        metrics(doc, root.get("metrics"), metricFiles, patterns);
        Duration timeout = duration(doc, root, "timeout");
        Duration interval = duration(doc, root, "checkpoint_interval");
        Map<String, String> env = env(doc, root.get("env"));
        int retries = TaskConfig.DEFAULT_RETRIES;
        JsonNode r = root.get("retries");
        if (r != null && !r.isNull()) {
            if (!r.isIntegralNumber() || r.asInt() < 0 || r.asInt() > 100) {
                throw doc.error("retries", "expected how many times an interrupted run is re-queued, 0 to 100, found " + r.asText());
            }
            retries = r.asInt();
        }
        int maxRecoveries = TaskConfig.DEFAULT_MAX_RECOVERIES;
        JsonNode mr = root.get("max_recoveries");
        if (mr != null && !mr.isNull()) {
            if (!mr.isIntegralNumber() || mr.asInt() < 0 || mr.asInt() > 100) {
                throw doc.error("max_recoveries", "expected how many times a run whose machine went away (a spot interruption,"
                        + " a lost instance) is continued on a replacement, 0 to 100, found " + mr.asText());
            }
            maxRecoveries = mr.asInt();
        }
        return new TaskConfig(name, workdir, setup, run, params, paramsFile, resources, checkpoints, artifacts, metricFiles,
                patterns, timeout, interval == null ? TaskConfig.DEFAULT_CHECKPOINT_INTERVAL : interval, retries, maxRecoveries, env, data);
    }

    private static String optionalString(YamlDocument doc, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() && !v.isNumber()) {
            throw doc.error(field, "expected a string, found " + YamlDocument.typeName(v));
        }
        String s = v.asText();
        if (s.isBlank()) {
            throw doc.error(field, "is empty; remove the field or give it a value");
        }
        return s;
    }

    private static String relativePath(YamlDocument doc, JsonNode node, String field) {
        String s = optionalString(doc, node, field);
        if (s != null) {
            checkRelative(doc, field, s);
        }
        return s;
    }

    private static void checkRelative(YamlDocument doc, String field, String s) {
        Path path = Path.of(s);
        if (path.isAbsolute() || path.normalize().startsWith("..")) {
            throw doc.error(field, "'" + s + "' must be a path inside the project (relative, without '..')");
        }
    }

    private static List<String> pathList(YamlDocument doc, JsonNode root, String field) {
        JsonNode v = root.get(field);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual()) {
            checkRelative(doc, field, v.asText());
            out.add(v.asText());
            return out;
        }
        if (!v.isArray()) {
            throw doc.error(field, "expected a path or a list of paths, found " + YamlDocument.typeName(v));
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            String path = field + "[" + i + "]";
            if (!item.isTextual() || item.asText().isBlank()) {
                throw doc.error(path, "expected a path, found " + YamlDocument.typeName(item));
            }
            checkRelative(doc, path, item.asText());
            out.add(item.asText());
        }
        return out;
    }

    private static Resources resources(YamlDocument doc, JsonNode r) {
        if (r == null || r.isNull()) {
            return Resources.NONE;
        }
        if (!r.isObject()) {
            throw doc.error("resources", "expected a mapping like {gpus: 1, cpus: 4, memory: 16G}, found " + YamlDocument.typeName(r));
        }
        doc.requireKnownFields(r, "resources", RESOURCE_FIELDS);
        Integer gpus = null;
        String gpuModel = null;
        if (r.has("gpus")) {
            JsonNode g = r.get("gpus");
            // "A10G:1" or "A10G" (one): a model, as clouds name their GPUs (T4, A10G, L4, A100, H100)
            java.util.regex.Matcher m = g.isTextual() ? GPU_MODEL.matcher(g.asText().trim()) : null;
            // a bare word is a model only if it has a digit, as GPU models do (T4, A10G, H100): "two" is a mistake
            if (m != null && m.matches() && (m.group(2) != null || m.group(1).matches(".*\\d.*"))) {
                gpuModel = m.group(1);
                gpus = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
            } else if (!g.canConvertToInt() || !g.isIntegralNumber() || g.asInt() < 0) {
                throw doc.error("resources.gpus", "expected a whole number of GPUs (0 or more), or a model and a number like A10G:1,"
                        + " found " + g.asText());
            } else {
                gpus = g.asInt();
            }
        }
        Double cpus = null;
        if (r.has("cpus")) {
            JsonNode c = r.get("cpus");
            if (!c.isNumber() || c.asDouble() <= 0) {
                throw doc.error("resources.cpus", "expected a positive number of CPUs, found " + c.asText());
            }
            cpus = c.asDouble();
        }
        Long memory = size(doc, r, "memory");
        Long disk = size(doc, r, "disk");
        boolean spot = false;
        if (r.has("spot")) {
            if (!r.get("spot").isBoolean()) {
                throw doc.error("resources.spot", "expected true or false, found " + r.get("spot").asText());
            }
            spot = r.get("spot").asBoolean();
        }
        return new Resources(gpus, cpus, memory, disk, spot, gpuModel);
    }

    private static Long size(YamlDocument doc, JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        try {
            return Units.size(v.asText());
        } catch (IllegalArgumentException e) {
            throw doc.error("resources." + field, e.getMessage());
        }
    }

    private static Duration duration(YamlDocument doc, JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        try {
            Duration d = Units.duration(v.asText());
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException("must be longer than zero");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw doc.error(field, e.getMessage());
        }
    }

    private static void metrics(YamlDocument doc, JsonNode m, List<String> files, List<MetricPattern> patterns) {
        if (m == null || m.isNull()) {
            return;
        }
        if (m.isTextual()) {
            checkRelative(doc, "metrics", m.asText());
            files.add(m.asText());
            return;
        }
        if (!m.isArray()) {
            throw doc.error("metrics", "expected a list of metric files and {regex: ...} entries, found " + YamlDocument.typeName(m));
        }
        for (int i = 0; i < m.size(); i++) {
            JsonNode item = m.get(i);
            String path = "metrics[" + i + "]";
            if (item.isTextual()) {
                checkRelative(doc, path, item.asText());
                files.add(item.asText());
            } else if (item.isObject()) {
                doc.requireKnownFields(item, path, List.of("regex", "name"));
                JsonNode regex = item.get("regex");
                if (regex == null || !regex.isTextual()) {
                    throw doc.error(path, "a metric pattern needs 'regex:' (e.g. {regex: 'val_loss: (?<value>[0-9.]+)', name: val_loss})");
                }
                Pattern pattern;
                try {
                    pattern = Pattern.compile(regex.asText());
                } catch (PatternSyntaxException e) {
                    throw doc.error(path + ".regex", "invalid regular expression: " + e.getDescription() + " near index " + e.getIndex());
                }
                String name = item.hasNonNull("name") ? item.get("name").asText() : null;
                MetricPattern mp = new MetricPattern(name, pattern);
                if (name == null && mp.groupNames().stream().noneMatch(g -> !g.equals("step"))) {
                    throw doc.error(path, "without 'name:' the regex needs named groups, one per metric, e.g. 'loss (?<loss>[0-9.]+)'");
                }
                if (name != null && pattern.matcher("").groupCount() < 1) {
                    throw doc.error(path + ".regex", "needs a group around the value, e.g. 'val_loss: ([0-9.]+)'");
                }
                patterns.add(mp);
            } else {
                throw doc.error(path, "expected a metric file path or {regex: ..., name: ...}, found " + YamlDocument.typeName(item));
            }
        }
    }

    private static Map<String, String> env(YamlDocument doc, JsonNode e) {
        Map<String, String> out = new LinkedHashMap<>();
        if (e == null || e.isNull()) {
            return out;
        }
        if (!e.isObject()) {
            throw doc.error("env", "expected a mapping of NAME: value, found " + YamlDocument.typeName(e));
        }
        Iterator<Map.Entry<String, JsonNode>> it = e.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw doc.error("env." + f.getKey(), "not a valid environment variable name (letters, digits, '_')");
            }
            if (f.getValue().isContainerNode()) {
                throw doc.error("env." + f.getKey(), "expected a plain value, found " + YamlDocument.typeName(f.getValue()));
            }
            out.put(f.getKey(), f.getValue().isNull() ? "" : f.getValue().asText());
        }
        return out;
    }

    /** Jackson type token for an ordered String-keyed map. */
    static final class LinkedHashMapType extends com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>> {
        static final LinkedHashMapType INSTANCE = new LinkedHashMapType();
    }
}
