package dev.sortie.core.params;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Changes the values of some params in a YAML file's text and nothing else: each changed value's scalar is found
 * in the parsed document (with where it starts and ends in the text) and only those characters are replaced, so
 * the user's comments, blank lines, order, quoting and number spellings ({@code 0.20}) stay. Where that cannot be
 * done exactly (a param added or removed, a value that is a block scalar, behind an alias or not a scalar) it
 * says so with an empty result, and the caller writes the file anew.
 */
public final class YamlValueEdit {
    private static final System.Logger LOG = System.getLogger(YamlValueEdit.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private YamlValueEdit() {
    }

    private record Replacement(int start, int end, String text) {
    }

    /**
     * {@code text} with the params under {@code root} (a dotted path of mapping keys, "" for the document itself)
     * changed from {@code before} to {@code after}; empty when only a rewrite of the file could say it.
     */
    public static Optional<String> apply(String text, String root, Params before, Params after) {
        Map<String, Object> old = before.flatten();
        Map<String, Object> now = after.flatten();
        if (!old.keySet().equals(now.keySet())) {
            return Optional.empty();
        }
        Node doc;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setProcessComments(false);
            doc = new Yaml(options).compose(new StringReader(text));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "params text not edited in place: {0}", e.toString());
            return Optional.empty();
        }
        if (doc == null) {
            return Optional.empty();
        }
        List<Replacement> edits = new ArrayList<>();
        for (Map.Entry<String, Object> e : now.entrySet()) {
            if (Objects.equals(old.get(e.getKey()), e.getValue())) {
                continue;
            }
            String path = root.isEmpty() ? e.getKey() : root + "." + e.getKey();
            Optional<ScalarNode> node = find(doc, path);
            if (node.isEmpty()) {
                return Optional.empty();
            }
            ScalarNode s = node.get();
            DumperOptions.ScalarStyle style = s.getScalarStyle();
            if (style != DumperOptions.ScalarStyle.PLAIN && style != DumperOptions.ScalarStyle.SINGLE_QUOTED
                    && style != DumperOptions.ScalarStyle.DOUBLE_QUOTED) {
                return Optional.empty();
            }
            Optional<String> rendered = render(e.getValue());
            if (rendered.isEmpty()) {
                return Optional.empty();
            }
            int start = text.offsetByCodePoints(0, s.getStartMark().getIndex());
            int end = text.offsetByCodePoints(0, s.getEndMark().getIndex());
            edits.add(new Replacement(start, end, rendered.get()));
        }
        edits.sort(Comparator.comparingInt(Replacement::start).reversed());
        StringBuilder out = new StringBuilder(text);
        for (Replacement r : edits) {
            out.replace(r.start(), r.end(), r.text());
        }
        return Optional.of(out.toString());
    }

    /** The scalar at a dotted path; keys may hold dots themselves, so each mapping is asked for the longest key that fits. */
    private static Optional<ScalarNode> find(Node node, String path) {
        if (!(node instanceof MappingNode map) || node.getAnchor() != null) {
            return Optional.empty();
        }
        ScalarNode found = null;
        Node next = null;
        String rest = null;
        for (NodeTuple t : map.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                continue;
            }
            String key = k.getValue();
            if (key.equals("<<")) {
                return Optional.empty(); // merged values live elsewhere: a rewrite says it right
            }
            if (path.equals(key)) {
                if (t.getValueNode() instanceof ScalarNode v && v.getAnchor() == null && !isAlias(t.getValueNode())) {
                    found = v;
                } else {
                    return Optional.empty();
                }
            } else if (path.startsWith(key + ".") && (rest == null || key.length() > path.length() - rest.length() - 1)) {
                next = t.getValueNode();
                rest = path.substring(key.length() + 1);
            }
        }
        if (found != null) {
            return Optional.of(found);
        }
        return next == null || isAlias(next) ? Optional.empty() : find(next, rest);
    }

    private static boolean isAlias(Node n) {
        return n.getNodeId() == org.yaml.snakeyaml.nodes.NodeId.anchor;
    }

    /** A value as YAML reads it back the same: numbers and booleans plain, text double-quoted. */
    static Optional<String> render(Object value) {
        if (value == null) {
            return Optional.of("null");
        }
        if (value instanceof Boolean || value instanceof Long || value instanceof Integer) {
            return Optional.of(value.toString());
        }
        if (value instanceof Double d) {
            if (d.isNaN()) {
                return Optional.of(".nan");
            }
            if (d.isInfinite()) {
                return Optional.of(d > 0 ? ".inf" : "-.inf");
            }
            String s = d.toString(); // always has a '.' (1.0E-4 too), so YAML reads a float, not an int
            return Optional.of(s);
        }
        if (value instanceof String s) {
            try {
                return Optional.of(JSON.writeValueAsString(s)); // a JSON string is a YAML double-quoted scalar
            } catch (JsonProcessingException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }
}
