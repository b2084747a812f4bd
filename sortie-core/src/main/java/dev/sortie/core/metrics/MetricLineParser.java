package dev.sortie.core.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads metrics from a program's output lines. A line is a metrics line when it is either
 * <ul>
 *   <li>only {@code key=number} tokens separated by spaces or commas, e.g. {@code loss=0.31 acc=0.92 step=5}, or</li>
 *   <li>one JSON object, e.g. {@code {"loss": 0.31, "step": 5}}; nested objects flatten with '.'.</li>
 * </ul>
 * {@code step} (an integer) is the step of the line's other values; every other numeric value is a metric.
 * Anything else (ordinary log lines) is ignored unless a user {@link MetricPattern} matches it.
 */
public final class MetricLineParser {
    private static final Pattern KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_./\\-]*");
    private static final Pattern SEPARATORS = Pattern.compile("[\\s,]+");
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Lines longer than this are not metric lines (no metric line is 64 K characters long): they are not parsed,
     * so a program that prints a huge line costs no regular-expression time on it.
     */
    public static final int MAX_LINE = 64 * 1024;
    private final List<MetricPattern> patterns;

    public MetricLineParser(List<MetricPattern> patterns) {
        this.patterns = List.copyOf(patterns);
    }

    public List<RawMetric> parse(String line) {
        if (line.length() > MAX_LINE) {
            return List.of();
        }
        String t = line.strip();
        if (t.isEmpty()) {
            return List.of();
        }
        List<RawMetric> out = new ArrayList<>();
        if (t.charAt(0) == '{' && t.charAt(t.length() - 1) == '}') {
            out.addAll(json(t));
        } else if (t.indexOf('=') > 0) {
            out.addAll(keyValues(t));
        }
        for (MetricPattern p : patterns) {
            out.addAll(p.match(line));
        }
        return out;
    }

    static List<RawMetric> keyValues(String t) {
        String[] tokens = SEPARATORS.split(t);
        List<String> keys = new ArrayList<>(tokens.length);
        List<Double> values = new ArrayList<>(tokens.length);
        Long step = null;
        for (String token : tokens) {
            if (token.isEmpty()) {
                continue;
            }
            int eq = token.indexOf('=');
            if (eq <= 0 || !KEY.matcher(token.substring(0, eq)).matches()) {
                return List.of();
            }
            Double v = number(token.substring(eq + 1));
            if (v == null) {
                return List.of();
            }
            String key = token.substring(0, eq);
            if (key.equals("step")) {
                step = v.longValue();
            } else {
                keys.add(key);
                values.add(v);
            }
        }
        List<RawMetric> out = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            out.add(new RawMetric(keys.get(i), values.get(i), step));
        }
        return out;
    }

    static List<RawMetric> json(String t) {
        JsonNode node;
        try {
            node = JSON.readTree(t);
        } catch (Exception e) {
            return List.of();
        }
        if (node == null || !node.isObject()) {
            return List.of();
        }
        return fromJsonObject(node, ".");
    }

    /** Numeric leaves of a JSON object as metrics; a top-level integer {@code step} is their step. */
    public static List<RawMetric> fromJsonObject(JsonNode node, String separator) {
        Long step = node.has("step") && node.get("step").isNumber() ? node.get("step").asLong() : null;
        List<RawMetric> out = new ArrayList<>();
        collect("", node, separator, step, out);
        return out;
    }

    private static void collect(String prefix, JsonNode node, String sep, Long step, List<RawMetric> out) {
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            String key = prefix.isEmpty() ? f.getKey() : prefix + sep + f.getKey();
            JsonNode v = f.getValue();
            if (prefix.isEmpty() && f.getKey().equals("step")) {
                continue;
            }
            if (v.isNumber()) {
                out.add(new RawMetric(key, v.asDouble(), step));
            } else if (v.isObject()) {
                collect(key, v, sep, step, out);
            }
        }
    }

    /** A finite or non-finite decimal number, or null if {@code s} is not one. */
    public static Double number(String s) {
        String t = s.strip();
        if (t.isEmpty()) {
            return null;
        }
        char c = t.charAt(0);
        if (!(Character.isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'n' || c == 'N' || c == 'i' || c == 'I')) {
            return null;
        }
        switch (t.toLowerCase(java.util.Locale.ROOT)) {
            case "nan":
                return Double.NaN;
            case "inf", "+inf", "infinity":
                return Double.POSITIVE_INFINITY;
            case "-inf", "-infinity":
                return Double.NEGATIVE_INFINITY;
            default:
                break;
        }
        if (!Character.isDigit(t.charAt(t.length() - 1)) && t.charAt(t.length() - 1) != '.') {
            return null;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
