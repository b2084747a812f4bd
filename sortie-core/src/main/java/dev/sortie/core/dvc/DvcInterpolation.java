package dev.sortie.core.dvc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.sortie.core.dvc.DvcVars.DvcVarsException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * DVC 3's {@code ${...}} in dvc.yaml: a string that is exactly one {@code ${x}} becomes x's value with its type (a
 * number, a boolean, a list for foreach/matrix); anywhere else the value is printed as DVC prints it (Python's
 * {@code str}: {@code 0.001}, {@code 1e-05}, {@code true}/{@code false}); a mapping in {@code cmd} is unpacked into
 * {@code --key value} flags as DVC's {@code parsing} config says; {@code \${} is a literal {@code ${}.
 */
final class DvcInterpolation {
    /** DVC's pattern: {@code ${...}} not preceded by a backslash, the shortest inside. */
    static final Pattern KEY = Pattern.compile("(?<!\\\\)\\$\\{(.*?)}");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private DvcInterpolation() {
    }

    /** {@code true} when {@code node} holds a {@code ${...}} anywhere (in a value or a key). */
    static boolean isInterpolated(JsonNode node) {
        if (node.isTextual()) {
            return KEY.matcher(node.asText()).find();
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (KEY.matcher(e.getKey()).find() || isInterpolated(e.getValue())) {
                return true;
            }
        }
        if (node.isArray()) {
            for (JsonNode n : node) {
                if (isInterpolated(n)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * {@code node} with every string (values and mapping keys) resolved in {@code vars}; {@code field} is the stage's
     * field it comes from ({@code cmd}, {@code deps}...) or null for foreach/matrix data and top-level sections, which
     * may take lists and mappings.
     */
    static JsonNode resolve(JsonNode node, DvcVars vars, String field, DvcParsingConfig config) {
        if (node.isTextual()) {
            return resolveString(node.asText(), vars, field, config);
        }
        if (node.isObject()) {
            ObjectNode out = NODES.objectNode();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode k = resolveString(e.getKey(), vars, field, config);
                out.set(k.isTextual() ? k.asText() : toStr(k, config), resolve(e.getValue(), vars, field, config));
            }
            return out;
        }
        if (node.isArray()) {
            ArrayNode out = NODES.arrayNode();
            node.forEach(n -> out.add(resolve(n, vars, field, config)));
            return out;
        }
        return node;
    }

    static JsonNode resolveString(String s, DvcVars vars, String field, DvcParsingConfig config) {
        Matcher m = KEY.matcher(s);
        List<MatchResult> matches = new ArrayList<>();
        while (m.find()) {
            matches.add(new MatchResult(m.start(), m.end(), m.group(1)));
        }
        if (matches.size() == 1 && matches.get(0).start() == 0 && matches.get(0).end() == s.length()) {
            // "${enabled}" keeps its type; "${n} days" is a string
            JsonNode value = select(matches.get(0).inner(), vars);
            validate(value, field, matches.get(0).inner());
            return value.deepCopy();
        }
        StringBuilder out = new StringBuilder();
        int at = 0;
        for (MatchResult r : matches) {
            JsonNode value = select(r.inner(), vars);
            validate(value, field, r.inner());
            out.append(s, at, r.start()).append(toStr(value, config));
            at = r.end();
        }
        out.append(s.substring(at));
        return TextNode.valueOf(out.toString().replace("\\${", "${"));
    }

    private record MatchResult(int start, int end, String inner) {
    }

    private static JsonNode select(String inner, DvcVars vars) {
        return vars.select(inner.trim(), parse(inner));
    }

    /** DVC's grammar of a reference: {@code word} then {@code .word} or {@code [word]}, a word having no {@code .[]}. */
    static List<String> parse(String inner) {
        List<String> parts = new ArrayList<>();
        int i = 0;
        int n = inner.length();
        boolean first = true;
        while (i < n || first) {
            boolean bracket = false;
            if (!first) {
                char c = inner.charAt(i);
                if (c == '.') {
                    i++;
                } else if (c == '[') {
                    bracket = true;
                    i++;
                } else {
                    throw badExpression(inner, "expected '.' or '[' at position " + (i + 1));
                }
            }
            int start = i;
            while (i < n && ".[]".indexOf(inner.charAt(i)) < 0) {
                i++;
            }
            String word = inner.substring(start, i).trim();
            if (word.isEmpty()) {
                throw badExpression(inner, "expected a key at position " + (start + 1));
            }
            if (bracket) {
                if (i >= n || inner.charAt(i) != ']') {
                    throw badExpression(inner, "expected ']' at position " + (i + 1));
                }
                i++;
            }
            parts.add(word);
            first = false;
        }
        return parts;
    }

    private static DvcVarsException badExpression(String inner, String what) {
        return new DvcVarsException("'${" + inner + "}' is not a valid reference: " + what
                + " (a reference reads ${key}, ${key.sub}, ${list[0]})");
    }

    /** DVC's rule: only primitives in a string, but a mapping in cmd (unpacked) and anything in foreach/matrix data. */
    private static void validate(JsonNode value, String field, String inner) {
        if (field != null && !field.contains("foreach") && value.isContainerNode()) {
            if (value.isObject() && field.equals("cmd")) {
                return;
            }
            throw new DvcVarsException("cannot interpolate data of type '" + (value.isObject() ? "dict" : "list") + "': '${" + inner
                    + "}' is a " + (value.isObject() ? "mapping" : "list")
                    + (value.isObject() ? " (a mapping is unpacked into --flags in 'cmd' only)" : " (a whole list goes only in foreach/matrix)"));
        }
    }

    /** A value printed as DVC prints it into a string: Python's {@code str}, booleans lower case, mappings as flags. */
    static String toStr(JsonNode value, DvcParsingConfig config) {
        if (value.isBoolean()) {
            return value.asBoolean() ? "true" : "false";
        }
        if (value.isObject()) {
            return flags(value, config);
        }
        return py(value);
    }

    /** Python's {@code str()} of a YAML value (what an f-string prints). */
    static String py(JsonNode value) {
        if (value.isTextual()) {
            return value.asText();
        }
        if (value.isNull() || value.isMissingNode()) {
            return "None";
        }
        if (value.isBoolean()) {
            return value.asBoolean() ? "True" : "False";
        }
        if (value.isIntegralNumber()) {
            return value.bigIntegerValue().toString();
        }
        if (value.isNumber()) {
            return pyFloat(value.doubleValue());
        }
        if (value.isArray()) {
            List<String> items = new ArrayList<>();
            value.forEach(v -> items.add(v.isTextual() ? pyQuote(v.asText()) : py(v)));
            return "[" + String.join(", ", items) + "]";
        }
        List<String> items = new ArrayList<>();
        value.fields().forEachRemaining(e -> items.add(pyQuote(e.getKey()) + ": " + (e.getValue().isTextual() ? pyQuote(e.getValue().asText()) : py(e.getValue()))));
        return "{" + String.join(", ", items) + "}";
    }

    private static String pyQuote(String s) {
        return s.contains("'") && !s.contains("\"") ? "\"" + s + "\"" : "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Python's {@code repr} of a float: the shortest digits that read back, positional from 1e-4 to below 1e16. */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(d);
        BigDecimal shortest = exact;
        for (int p = 1; p <= 17; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (r.doubleValue() == d) {
                shortest = r;
                break;
            }
        }
        String sign = shortest.signum() < 0 ? "-" : "";
        BigDecimal abs = shortest.abs().stripTrailingZeros();
        String digits = abs.unscaledValue().toString();
        int exp = digits.length() - 1 - abs.scale(); // the decimal exponent of the first digit
        if (exp >= -4 && exp < 16) {
            if (exp >= 0) {
                String whole = digits.length() > exp + 1 ? digits.substring(0, exp + 1) : digits + "0".repeat(exp + 1 - digits.length());
                String frac = digits.length() > exp + 1 ? digits.substring(exp + 1) : "0";
                return sign + whole + "." + frac;
            }
            return sign + "0." + "0".repeat(-exp - 1) + digits;
        }
        String mantissa = digits.length() > 1 ? digits.charAt(0) + "." + digits.substring(1) : digits;
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    /** DVC's unpacking of a mapping in cmd: {@code --key value} per flattened key, booleans and lists as configured. */
    private static String flags(JsonNode map, DvcParsingConfig config) {
        Map<String, JsonNode> flat = new LinkedHashMap<>();
        flatten(map, "", flat);
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, JsonNode> e : flat.entrySet()) {
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (v.isBoolean()) {
                if (v.asBoolean()) {
                    out.append("--").append(k).append(' ');
                } else if (config.booleanOptional()) {
                    out.append("--no-").append(k).append(' ');
                }
            } else if (v.isTextual()) {
                out.append("--").append(k).append(' ').append(shellQuote(v.asText())).append(' ');
            } else if (v.isArray()) {
                int n = 0;
                for (JsonNode item : v) {
                    if (item.isContainerNode()) {
                        throw new DvcVarsException("cannot interpolate nested iterable in '" + k + "'");
                    }
                    String s = item.isTextual() ? shellQuote(item.asText()) : py(item);
                    if (config.listAppend() || n == 0) {
                        out.append("--").append(k).append(' ').append(s).append(' ');
                    } else {
                        out.append(s).append(' ');
                    }
                    n++;
                }
            } else {
                out.append("--").append(k).append(' ').append(py(v)).append(' ');
            }
        }
        return out.toString().stripTrailing();
    }

    private static void flatten(JsonNode map, String prefix, Map<String, JsonNode> into) {
        map.fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                flatten(e.getValue(), prefix + e.getKey() + ".", into); // an empty mapping gives no flag
            } else {
                into.put(prefix + e.getKey(), e.getValue());
            }
        });
    }

    /** Python's {@code shlex.quote}, as DVC quotes string values it unpacks. */
    static String shellQuote(String s) {
        if (s.isEmpty()) {
            return "''";
        }
        if (SHELL_SAFE.matcher(s).matches()) {
            return s;
        }
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }
}
