package dev.sortie.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A parsed YAML file that remembers the line of every field, so validation errors can point at it.
 * Fields are addressed by dotted paths ({@code resources.gpus}, {@code metrics[1].regex}).
 */
public final class YamlDocument {
    private static final System.Logger LOG = System.getLogger(YamlDocument.class.getName());
    private static final ObjectMapper MAPPER = YAMLMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private final Path file;
    private final JsonNode root;
    private final Map<String, Integer> lines;

    private YamlDocument(Path file, JsonNode root, Map<String, Integer> lines) {
        this.file = file;
        this.root = root;
        this.lines = lines;
    }

    public static YamlDocument read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, 0, null, "file not found");
        } catch (IOException e) {
            throw new ConfigException(file, 0, null, "cannot read: " + e.getMessage());
        }
        return parse(file, text);
    }

    public static YamlDocument parse(Path file, String text) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String msg = e.getOriginalMessage();
            if (e instanceof JsonParseException && msg != null && msg.startsWith("Duplicate field")) {
                msg = msg + " (each key may appear once)";
            }
            throw new ConfigException(file, loc == null ? 0 : loc.getLineNr(), null, "invalid YAML: " + firstLine(msg));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            root = MissingNode.getInstance();
        }
        return new YamlDocument(file, root, locate(text));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Line of every field and array element, by dotted path; the root is "". */
    private static Map<String, Integer> locate(String text) {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = new YAMLFactory().createParser(text)) {
            List<String> path = new ArrayList<>();
            List<Integer> index = new ArrayList<>();
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                int line = p.currentTokenLocation().getLineNr();
                switch (t) {
                    case FIELD_NAME -> {
                        path.set(path.size() - 1, p.currentName());
                        lines.putIfAbsent(join(path, index), line);
                    }
                    case START_OBJECT, START_ARRAY -> {
                        advanceArray(path, index, lines, line);
                        path.add(null);
                        index.add(t == JsonToken.START_ARRAY ? -1 : null);
                    }
                    case END_OBJECT, END_ARRAY -> {
                        path.remove(path.size() - 1);
                        index.remove(index.size() - 1);
                    }
                    default -> advanceArray(path, index, lines, line);
                }
            }
        } catch (IOException e) {
            // The tree parse above already reported syntax errors; lines are a best effort.
            LOG.log(System.Logger.Level.DEBUG, "line numbers of a YAML file are incomplete: {0}", e);
        }
        return lines;
    }

    private static void advanceArray(List<String> path, List<Integer> index, Map<String, Integer> lines, int line) {
        if (!index.isEmpty() && index.get(index.size() - 1) != null) {
            int i = index.get(index.size() - 1) + 1;
            index.set(index.size() - 1, i);
            path.set(path.size() - 1, "[" + i + "]");
            lines.putIfAbsent(join(path, index), line);
        }
    }

    private static String join(List<String> path, List<Integer> index) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < path.size(); i++) {
            String part = path.get(i);
            if (part == null) {
                continue;
            }
            if (index.get(i) == null && sb.length() > 0) {
                sb.append('.');
            }
            sb.append(part);
        }
        return sb.toString();
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
