package dev.sortie.core.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.fasterxml.jackson.core.ObjectCodec;
import com.fasterxml.jackson.core.io.IOContext;
import java.io.Reader;
import java.io.StringReader;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.events.ScalarEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the tree of the first YAML document from Jackson's YAML tokens, as a YAML loader would: an alias
 * ({@code *x}) stands for a copy of its anchor's value ({@code &x}), and a merge key ({@code <<: *base}, YAML 1.1)
 * adds the fields of the mappings it names that the mapping does not set itself. Jackson's own tree reader
 * does neither: it gives the anchor's name as a string. The line of every field and list element is recorded
 * by dotted path on the way.
 *
 * <p>Aliases are copied, so a few lines of nested aliases (a "billion laughs") could make an enormous tree;
 * their expansion is limited to {@link #MAX_ALIAS_VALUES} values and the alias that goes over it is an error.
 */
final class YamlTreeBuilder {
    /** At most this many values (scalars, mappings, lists) may come from expanding aliases, in one file. */
    static final int MAX_ALIAS_VALUES = 100_000;
    private static final YAMLFactory FACTORY = new AnchorsFactory();
    private static final ObjectMapper SCALARS = new ObjectMapper(FACTORY);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String MERGE_KEY = "<<";

    private final Path file;
    private final Map<String, Integer> lines = new HashMap<>();
    private final Map<String, Anchored> anchors = new HashMap<>();
    private final Deque<Frame> stack = new ArrayDeque<>();
    private long aliasValues;

    private record Anchored(JsonNode node, long size) {
    }

    /** A mapping or list being read: its node, where it is, and what it has so far. */
    private static final class Frame {
        final String path;
        final String anchor;
        final ObjectNode object;
        final ArrayNode array;
        final List<JsonNode> merges = new ArrayList<>();
        String field;
        int fieldLine;
        long size = 1;

        Frame(String path, String anchor, boolean isArray) {
            this.path = path;
            this.anchor = anchor;
            this.object = isArray ? null : NODES.objectNode();
            this.array = isArray ? NODES.arrayNode() : null;
        }

        JsonNode node() {
            return object != null ? object : array;
        }

        /** The path of the value that comes next: the current field, or the next list element. */
        String childPath() {
            if (array != null) {
                return path + "[" + array.size() + "]";
            }
            return path.isEmpty() ? field : path + "." + field;
        }
    }

    private YamlTreeBuilder(Path file) {
        this.file = file;
    }

    /** The tree and the lines of a YAML text; null as the tree for a text with no document. */
    record Result(JsonNode root, Map<String, Integer> lines) {
    }

    static Result build(Path file, String text) throws IOException {
        YamlTreeBuilder b = new YamlTreeBuilder(file);
        try (AnchorsParser p = (AnchorsParser) FACTORY.createParser(new StringReader(text))) {
            JsonNode root = b.read(p);
            return new Result(root, b.lines);
        }
    }

    private JsonNode read(AnchorsParser p) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != null) {
            int line = p.currentTokenLocation().getLineNr();
            Frame top = stack.peek();
            if (t == JsonToken.FIELD_NAME) {
                top.field = p.currentName();
                top.fieldLine = line;
                if (!MERGE_KEY.equals(top.field)) {
                    lines.putIfAbsent(top.childPath(), line);
                }
                continue;
            }
            if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                Frame done = stack.pop();
                JsonNode node = done.object != null ? withMerges(done) : done.array;
                if (done.anchor != null) {
                    anchors.put(done.anchor, new Anchored(node, done.size));
                }
                if (stack.isEmpty()) {
                    return node;
                }
                add(stack.peek(), node, done.size, line);
                continue;
            }
            String path = top == null ? "" : top.childPath();
            if (top != null && top.array != null) {
                lines.putIfAbsent(path, line);
            }
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                lines.putIfAbsent(path, line);
                stack.push(new Frame(path, p.getCurrentAnchor(), t == JsonToken.START_ARRAY));
                continue;
            }
            JsonNode value;
            long size;
            if (p.isCurrentAlias()) {
                Anchored a = anchors.get(p.getText());
                if (a == null) {
                    throw new ConfigException(file, line, path, "alias '*" + p.getText()
                            + "' refers to no anchor: an alias names an anchor ('&" + p.getText() + "') set on a value before it");
                }
                aliasValues += a.size();
                if (aliasValues > MAX_ALIAS_VALUES) {
                    throw new ConfigException(file, line, path, "aliases expand to more than " + MAX_ALIAS_VALUES
                            + " values (aliases nested in aliases multiply); write the values out, or use fewer nested aliases");
                }
                value = a.node().deepCopy();
                size = a.size();
            } else {
                value = SCALARS.readTree(p);
                if (value == null) {
                    value = NullNode.getInstance();
                }
                size = 1;
                String anchor = p.scalarAnchor();
                if (anchor != null) {
                    anchors.put(anchor, new Anchored(value, 1));
                }
            }
            if (top == null) {
                return value;
            }
            add(top, value, size, line);
        }
        return null;
    }

    private void add(Frame into, JsonNode value, long size, int line) {
        into.size += size;
        if (into.array != null) {
            into.array.add(value);
            return;
        }
        if (MERGE_KEY.equals(into.field)) {
            addMerge(into, value);
            return;
        }
        if (into.object.has(into.field)) {
            throw new ConfigException(file, into.fieldLine, into.childPath(),
                    "Duplicate field '" + into.field + "' (each key may appear once)");
        }
        into.object.set(into.field, value);
    }

    private void addMerge(Frame into, JsonNode value) {
        String where = into.path.isEmpty() ? MERGE_KEY : into.path + "." + MERGE_KEY;
        if (value.isObject()) {
            into.merges.add(value);
            return;
        }
        if (value.isArray()) {
            for (JsonNode m : value) {
                if (!m.isObject()) {
                    throw new ConfigException(file, into.fieldLine, where,
                            "a merge key takes mappings (<<: *base, or <<: [*a, *b]), found a list holding " + YamlDocument.typeName(m));
                }
                into.merges.add(m);
            }
            return;
        }
        throw new ConfigException(file, into.fieldLine, where,
                "a merge key takes mappings (<<: *base, or <<: [*a, *b]), found " + YamlDocument.typeName(value));
    }

    /** The mapping with its merged fields: its own fields win, then the merged mappings in the order listed. */
    private static ObjectNode withMerges(Frame f) {
        if (f.merges.isEmpty()) {
            return f.object;
        }
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        for (JsonNode m : f.merges) {
            for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                fields.putIfAbsent(e.getKey(), e.getValue().deepCopy());
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = f.object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            fields.put(e.getKey(), e.getValue());
        }
        ObjectNode merged = NODES.objectNode();
        merged.setAll(fields);
        return merged;
    }

    /**
     * Jackson's YAML parser tells the anchors of mappings and lists but drops those of scalars ({@code &x 0.1});
     * this one keeps the anchor of the scalar it has just read.
     */
    static final class AnchorsParser extends YAMLParser {
        private String scalarAnchor;

        AnchorsParser(IOContext ctxt, int parserFeatures, int formatFeatures, LoaderOptions options, ObjectCodec codec, Reader reader) {
            super(ctxt, parserFeatures, formatFeatures, options, codec, reader);
        }

        @Override
        public JsonToken nextToken() throws IOException {
            scalarAnchor = null;
            return super.nextToken();
        }

        @Override
        protected JsonToken _decodeScalar(ScalarEvent scalar) throws IOException {
            scalarAnchor = scalar.getAnchor();
            return super._decodeScalar(scalar);
        }

        String scalarAnchor() {
            return scalarAnchor;
        }
    }

    private static final class AnchorsFactory extends YAMLFactory {
        @Override
        protected YAMLParser _createParser(Reader r, IOContext ctxt) {
            return new AnchorsParser(ctxt, _parserFeatures, _yamlParserFeatures, _loaderOptions, _objectCodec, r);
        }
    }
}
