package dev.sortie.core.dvc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.YamlDocument;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The values a dvc.yaml's {@code ${...}} read, built as DVC 3 builds its context: {@code params.yaml} next to dvc.yaml
 * when there is one, then the top-level {@code vars:}, then a stage's own {@code vars:} (files relative to the stage's
 * wdir); each entry is a file ({@code params.yaml}), some keys of a file ({@code file.yaml:key1,key2}) or an inline
 * mapping. Mappings merge key by key; a value defined twice is an error naming both sources, as DVC refuses it.
 * {@code item} and {@code key} are reserved while a foreach/matrix stage is expanded.
 *
 * <p>Each copy is independent: a stage's vars and a foreach item go into a copy, never into the pipeline's vars.
 */
final class DvcVars {
    private final ObjectNode data;
    /** Dotted path of each value set, to where it came from ({@code params.yaml}, {@code vars[1]}). */
    private final Map<String, String> sources;
    /** Files loaded, to the keys loaded from them ({@code null}: the whole file), as DVC tracks its imports. */
    private final Map<Path, List<String>> imports;
    private final Set<String> reserved;
    /** Params files read from this text instead of the disk (a run's params.yaml with its -S values), by absolute path. */
    private final Map<Path, String> replaced;

    private DvcVars(ObjectNode data, Map<String, String> sources, Map<Path, List<String>> imports, Set<String> reserved,
                    Map<Path, String> replaced) {
        this.data = data;
        this.sources = sources;
        this.imports = imports;
        this.reserved = reserved;
        this.replaced = replaced;
    }

    /** No values yet; a file in {@code replaced} (absolute, normalized) is read from its text there, not from disk. */
    static DvcVars empty(Map<Path, String> replaced) {
        return new DvcVars(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), new LinkedHashMap<>(),
                new LinkedHashMap<>(), new LinkedHashSet<>(), Map.copyOf(replaced));
    }

    DvcVars copy() {
        Map<Path, List<String>> imp = new LinkedHashMap<>();
        imports.forEach((k, v) -> imp.put(k, v == null ? null : new ArrayList<>(v)));
        return new DvcVars(data.deepCopy(), new LinkedHashMap<>(sources), imp, new LinkedHashSet<>(reserved), replaced);
    }

    /** A copy with {@code values} set at the top level (a foreach's {@code item}/{@code key}), reserved from vars. */
    DvcVars withIteration(Map<String, JsonNode> values) {
        DvcVars c = copy();
        values.forEach((k, v) -> {
            c.data.set(k, v);
            c.sources.keySet().removeIf(p -> p.equals(k) || p.startsWith(k + "."));
            c.sources.put(k, "the stage's " + k);
        });
        c.reserved.addAll(values.keySet());
        return c;
    }

    boolean has(String key) {
        return data.has(key);
    }

    /**
     * Loads DVC's {@code vars:} list {@code list} (already checked to have no {@code ${}}) into this context, files
     * relative to {@code dir}; {@code stagePrefix} ({@code ""} or {@code "train."}) names an inline mapping's source
     * as DVC does ({@code vars[1]}, {@code train.vars[0]}).
     */
    void load(Path dir, JsonNode list, String stagePrefix) {
        if (list.isMissingNode() || list.isNull()) {
            return;
        }
        if (!list.isArray()) {
            throw new DvcVarsException("expected a list of params files ('params.yaml', 'file.yaml:key1,key2') or mappings, found "
                    + YamlDocument.typeName(list));
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            if (item.isTextual()) {
                mergeFile(dir, item.asText());
            } else if (item.isObject()) {
                merge((ObjectNode) item, stagePrefix + "vars[" + i + "]");
            } else {
                throw new DvcVarsException("vars[" + i + "]: expected a params file ('params.yaml', 'file.yaml:key1,key2') or a mapping, found "
                        + YamlDocument.typeName(item));
            }
        }
    }

    /** DVC's default: {@code params.yaml} in {@code dir} when it is there. */
    void loadDefault(Path dir) {
        Path file = dir.resolve(DvcPipeline.PARAMS_FILE).toAbsolutePath().normalize();
        if (replaced.containsKey(file) || Files.isRegularFile(file)) {
            mergeFile(dir, DvcPipeline.PARAMS_FILE);
        }
    }

    private void mergeFile(Path dir, String item) {
        int colon = item.indexOf(':');
        String name = colon < 0 ? item : item.substring(0, colon);
        List<String> keys = colon < 0 ? null
                : Arrays.stream(item.substring(colon + 1).split(",")).filter(s -> !s.isEmpty()).toList();
        if (keys != null && keys.isEmpty()) {
            keys = null;
        }
        Path file = dir.resolve(name).toAbsolutePath().normalize();
        if (imports.containsKey(file)) {
            List<String> had = imports.get(file);
            if (keys == null && had == null) {
                return; // the whole file again: DVC allows it
            }
            if (keys == null || (had != null && keys.stream().anyMatch(had::contains))) {
                throw new DvcVarsException("cannot load '" + item + "' as it's partially loaded already");
            }
            if (had == null) {
                throw new DvcVarsException("cannot partially load '" + item + "' as it's already loaded");
            }
        }
        String text = replaced.get(file);
        if (text == null && !Files.exists(file)) {
            throw new DvcVarsException("vars file '" + name + "' does not exist (looked for " + file + ")");
        }
        if (text == null && Files.isDirectory(file)) {
            throw new DvcVarsException("vars file '" + name + "' is a directory; expected a YAML or JSON params file");
        }
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (lower.endsWith(".toml") || lower.endsWith(".py")) {
            throw new DvcVarsException("vars file '" + name + "': Sortie reads vars from YAML and JSON files only (.yaml, .yml, .json)");
        }
        JsonNode root;
        try {
            root = (text == null ? YamlDocument.read(file) : YamlDocument.parse(file, text)).root();
        } catch (ConfigException e) {
            throw new DvcVarsException("vars file '" + name + "': " + e.getMessage());
        }
        if (!root.isObject()) {
            throw new DvcVarsException("expected a dictionary, got " + YamlDocument.typeName(root) + " in vars file '" + name + "'");
        }
        ObjectNode selected = (ObjectNode) root;
        if (keys != null) {
            selected = selected.objectNode();
            for (String k : keys) {
                if (!root.has(k)) {
                    throw new DvcVarsException("could not find '" + k + "' in '" + name + "'; it defines: " + String.join(", ", fieldNames(root)));
                }
                selected.set(k, root.get(k));
            }
        }
        merge(selected, name);
        if (keys == null) {
            imports.put(file, null);
        } else {
            imports.computeIfAbsent(file, f -> new ArrayList<>()).addAll(keys);
        }
    }

    private void merge(ObjectNode update, String source) {
        List<String> clash = new ArrayList<>();
        update.fieldNames().forEachRemaining(k -> {
            if (reserved.contains(k)) {
                clash.add(k);
            }
        });
        if (!clash.isEmpty()) {
            throw new DvcVarsException("attempted to modify reserved key" + (clash.size() > 1 ? "s " : " ") + String.join(", ", clash)
                    + " in '" + source + "' (a foreach/matrix stage sets them)");
        }
        merge(data, update, "", source);
    }

    private void merge(ObjectNode into, ObjectNode update, String prefix, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = update.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix + e.getKey();
            JsonNode had = into.get(e.getKey());
            if (had != null && had.isObject() && e.getValue().isObject()) {
                merge((ObjectNode) had, (ObjectNode) e.getValue(), path + ".", source);
                continue;
            }
            if (had != null) {
                throw new DvcVarsException("cannot redefine '" + path + "' from '" + source + "' as it already exists in '"
                        + sourceOf(path) + "'");
            }
            into.set(e.getKey(), e.getValue().deepCopy());
            sources.put(path, source);
        }
    }

    private String sourceOf(String path) {
        for (String p = path; ; p = p.substring(0, p.lastIndexOf('.'))) {
            String s = sources.get(p);
            if (s != null) {
                return s;
            }
            if (p.indexOf('.') < 0) {
                return "vars";
            }
        }
    }

    /**
     * The value at DVC's {@code expr} ({@code a.b}, {@code a[0]}, {@code a.b[1].c}), already checked by
     * {@link DvcInterpolation#parse}: the dotted parts. A missing key names what is defined there.
     */
    JsonNode select(String expr, List<String> parts) {
        JsonNode node = data;
        String at = "";
        for (String part : parts) {
            JsonNode next = null;
            if (node.isObject()) {
                next = node.get(part);
            } else if (node.isArray()) {
                try {
                    int i = Integer.parseInt(part);
                    next = i >= 0 ? node.get(i) : null;
                } catch (NumberFormatException e) {
                    throw new DvcVarsException("could not find '" + expr + "': '" + at + "' is a list, indexed by a number, not '" + part + "'");
                }
            } else {
                throw new DvcVarsException("could not find '" + expr + "': '" + at + "' is " + YamlDocument.typeName(node)
                        + ", it has no '" + part + "'");
            }
            if (next == null) {
                throw new DvcVarsException("could not find '" + expr + "' in the vars; " + defined(node, at, part));
            }
            node = next;
            at = at.isEmpty() ? part : at + "." + part;
        }
        return node;
    }

    private String defined(JsonNode node, String at, String missing) {
        if (node.isArray()) {
            return "'" + at + "' has " + node.size() + " items (0 to " + (node.size() - 1) + ")";
        }
        List<String> names = fieldNames(node);
        String hint = dev.sortie.core.config.Suggest.nearest(missing, names).map(n -> "did you mean '" + (at.isEmpty() ? n : at + "." + n) + "'? ").orElse("");
        if (names.isEmpty()) {
            return hint + (at.isEmpty() ? "none are defined (no params.yaml next to dvc.yaml and no 'vars:')" : "'" + at + "' is empty");
        }
        return hint + (at.isEmpty() ? "defined: " : "'" + at + "' defines: ") + String.join(", ", names)
                + (at.isEmpty() ? " (from " + String.join(", ", new LinkedHashSet<>(sources.values())) + ")" : "");
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** A mistake in the vars or a {@code ${...}}; the pipeline names dvc.yaml, the line, the stage and field. */
    static final class DvcVarsException extends RuntimeException {
        DvcVarsException(String message) {
            super(message);
        }
    }
}
