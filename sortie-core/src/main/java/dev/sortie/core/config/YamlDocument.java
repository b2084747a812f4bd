package dev.sortie.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * A parsed YAML file that remembers the line of every field, so validation errors can point at it.
 * Fields are addressed by dotted paths ({@code resources.gpus}, {@code metrics[1].regex}).
 */
public final class YamlDocument {
    private final Path file;
    private final JsonNode root;
    private final Map<String, Integer> lines;

    private YamlDocument(Path file, JsonNode root, Map<String, Integer> lines) {
        this.file = file;
        this.root = root;
        this.lines = lines;
    }

    public static YamlDocument read(Path file) {
        return parse(file, ConfigText.read(file));
    }

    public static YamlDocument parse(Path file, String text) {
        YamlTreeBuilder.Result tree;
        try {
            tree = YamlTreeBuilder.build(file, text);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            throw new ConfigException(file, loc == null ? 0 : loc.getLineNr(), null, "invalid YAML: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ConfigException(file, 0, null, "invalid YAML: " + firstLine(e.getMessage()));
        }
        JsonNode root = tree.root();
        if (root == null || root.isMissingNode() || root.isNull()) {
            root = MissingNode.getInstance();
        }
        return new YamlDocument(file, root, tree.lines());
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Path file() {
        return file;
    }

    public JsonNode root() {
        return root;
    }

    public int lineOf(String path) {
        Integer l = lines.get(path);
        if (l != null) {
            return l;
        }
        int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return cut > 0 ? lineOf(path.substring(0, cut)) : 0;
    }

    public ConfigException error(String path, String message) {
        return new ConfigException(file, lineOf(path), path, message);
    }

    /** Fails on any field of {@code node} (at {@code path}) not in {@code allowed}, suggesting the nearest. */
    public void requireKnownFields(JsonNode node, String path, Collection<String> allowed) {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) {
                String fieldPath = path.isEmpty() ? name : path + "." + name;
                String hint = Suggest.nearest(name, allowed).map(s -> "did you mean '" + s + "'? ").orElse("");
                throw error(fieldPath, "unknown field; " + hint + "valid fields" + (path.isEmpty() ? "" : " of '" + path + "'")
                        + ": " + String.join(", ", allowed));
            }
        }
    }

    public static String typeName(JsonNode n) {
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isNumber()) {
            return "a number";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isArray()) {
            return "a list";
        }
        if (n.isObject()) {
            return "a mapping";
        }
        return n.isNull() ? "empty" : n.getNodeType().name().toLowerCase();
    }
}
