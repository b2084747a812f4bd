package dev.sortie.core.params;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An experiment's params: a nested map of YAML-ish values (String, Long, Double, Boolean, null, List, Map),
 * immutable, addressed with dotted keys ({@code train.lr}). Order is kept as written, so tables and files
 * show params the way the user wrote them.
 */
public final class Params {
    private static final Params EMPTY = new Params(Map.of());
    private final Map<String, Object> root;

    private Params(Map<String, Object> root) {
        this.root = root;
    }

    public static Params empty() {
        return EMPTY;
    }

    /** Deep-copies {@code map} into an immutable tree. */
    public static Params of(Map<String, ?> map) {
        return new Params(freeze(map));
    }

    public Map<String, Object> asMap() {
        return root;
    }

    public boolean isEmpty() {
        return root.isEmpty();
    }

    /** The value at a dotted key, looking first for the literal key (YAML may hold "a.b" as one key). */
    public Optional<Object> get(String dottedKey) {
        if (root.containsKey(dottedKey)) {
            return Optional.ofNullable(root.get(dottedKey));
        }
        Object node = root;
        for (String part : dottedKey.split("\\.", -1)) {
            if (!(node instanceof Map<?, ?> m) || !m.containsKey(part)) {
                return Optional.empty();
            }
            node = m.get(part);
        }
        return Optional.ofNullable(node);
    }

    public boolean has(String dottedKey) {
        if (root.containsKey(dottedKey)) {
            return true;
        }
        Object node = root;
        for (String part : dottedKey.split("\\.", -1)) {
            if (!(node instanceof Map<?, ?> m) || !m.containsKey(part)) {
                return false;
            }
            node = m.get(part);
        }
        return true;
    }

    /** A copy with {@code dottedKey} set, creating intermediate maps as needed. */
    public Params with(String dottedKey, Object value) {
        Map<String, Object> copy = thaw(root);
        if (copy.containsKey(dottedKey)) {
            copy.put(dottedKey, value);
            return of(copy);
        }
        String[] parts = dottedKey.split("\\.", -1);
        Map<String, Object> node = copy;
        for (int i = 0; i < parts.length - 1; i++) {
            Object child = node.get(parts[i]);
            if (!(child instanceof Map)) {
                child = new LinkedHashMap<String, Object>();
                node.put(parts[i], child);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> next = (Map<String, Object>) child;
            node = next;
        }
        node.put(parts[parts.length - 1], value);
        return of(copy);
    }

    /** Leaves by dotted key, in order. Lists are leaves. */
    public Map<String, Object> flatten() {
        Map<String, Object> out = new LinkedHashMap<>();
        flatten("", root, out);
        return out;
    }

    private static void flatten(String prefix, Map<String, Object> map, Map<String, Object> out) {
        for (Map.Entry<String, Object> e : map.entrySet()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue() instanceof Map<?, ?> m && !m.isEmpty()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> child = (Map<String, Object>) m;
                flatten(key, child, out);
            } else {
                out.put(key, e.getValue());
            }
        }
    }

    /** How a value is written into a command line or an environment variable. */
    public static String render(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof List<?> list) {
            List<String> parts = new ArrayList<>();
            for (Object o : list) {
                parts.add(render(o));
            }
            return String.join(",", parts);
        }
        return String.valueOf(value);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> freeze(Map<String, ?> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : map.entrySet()) {
            out.put(e.getKey(), freezeValue(e.getValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    @SuppressWarnings("unchecked")
    private static Object freezeValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            return freeze((Map<String, ?>) m);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) {
                out.add(freezeValue(o));
            }
            return Collections.unmodifiableList(out);
        }
        if (v instanceof Integer i) {
            return i.longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof java.math.BigDecimal b) {
            return b.doubleValue();
        }
        if (v instanceof java.math.BigInteger b) {
            return b.longValue();
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> thaw(Map<String, Object> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map.entrySet()) {
            Object v = e.getValue();
            out.put(e.getKey(), v instanceof Map<?, ?> m ? thaw((Map<String, Object>) m) : v);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Params p && p.root.equals(root);
    }

    @Override
    public int hashCode() {
        return root.hashCode();
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
