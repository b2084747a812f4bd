package dev.sortie.sdk;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The little JSON this SDK needs, with no library: writing events and params (flat objects, nested objects and
 * arrays for params) and reading the one-line object {@code sortie track open} prints.
 *
 * <p>Non-finite numbers are written as the strings {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"}, as
 * sdk/PROTOCOL.md asks. Whole doubles below 2^53 are written without a fraction ({@code 5}, not {@code 5.0}).
 */
final class Json {
    /** Nesting deeper than this in params is taken for a cycle. */
    static final int MAX_DEPTH = 64;

    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final double MAX_EXACT_LONG = 9_007_199_254_740_992.0; // 2^53

    private Json() {
    }

    // ------------------------------------------------------------------------------------------------------
    // Writing

    /** Appends {@code s} as a JSON string, quotes included. */
    static void appendString(StringBuilder out, String s) {
        out.append('"');
        int len = s.length();
        int start = 0;
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\' && c != 0x2028 && c != 0x2029) {
                continue;
            }
            out.append(s, start, i);
            start = i + 1;
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> out.append("\\u").append(HEX[(c >> 12) & 0xF]).append(HEX[(c >> 8) & 0xF])
                        .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
            }
        }
        out.append(s, start, len);
        out.append('"');
    }

    /** Appends a double: the protocol's strings for NaN and the infinities, whole values without a fraction. */
    static void appendNumber(StringBuilder out, double v) {
        if (v != v) {
            out.append("\"NaN\"");
        } else if (v == Double.POSITIVE_INFINITY) {
            out.append("\"Infinity\"");
        } else if (v == Double.NEGATIVE_INFINITY) {
            out.append("\"-Infinity\"");
        } else if (v == (long) v && Math.abs(v) <= MAX_EXACT_LONG) {
            out.append((long) v);
        } else {
            out.append(v); // Double.toString: "0.25", "1.0E-5", "1.5E300": all valid JSON numbers
        }
    }

    /**
     * Appends any params value: maps (string keys) as objects, iterables and arrays as arrays, numbers,
     * booleans, null, and anything else as its {@code toString()}.
     *
     * @throws IllegalArgumentException for a key that is not a string, or nesting deeper than {@link #MAX_DEPTH}
     */
    static void appendValue(StringBuilder out, Object v) {
        appendValue(out, v, 0);
    }

    private static void appendValue(StringBuilder out, Object v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("params nested more than " + MAX_DEPTH + " levels deep (a cycle?)");
        }
        if (v == null) {
            out.append("null");
        } else if (v instanceof String s) {
            appendString(out, s);
        } else if (v instanceof Boolean b) {
            out.append(b.booleanValue());
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
                || v instanceof BigInteger) {
            out.append(v);
        } else if (v instanceof BigDecimal d) {
            out.append(d.toString());
        } else if (v instanceof Number n) {
            appendNumber(out, n.doubleValue());
        } else if (v instanceof Map<?, ?> m) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("param names must be strings, got "
                            + (e.getKey() == null ? "null" : e.getKey().getClass().getName() + " " + e.getKey()));
                }
                if (!first) {
                    out.append(',');
                }
                first = false;
                appendString(out, key);
                out.append(':');
                appendValue(out, e.getValue(), depth + 1);
            }
            out.append('}');
        } else if (v instanceof Iterable<?> it) {
            out.append('[');
            boolean first = true;
            for (Object o : it) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                appendValue(out, o, depth + 1);
            }
            out.append(']');
        } else if (v.getClass().isArray()) {
            out.append('[');
            int n = Array.getLength(v);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    out.append(',');
                }
                appendValue(out, Array.get(v, i), depth + 1);
            }
            out.append(']');
        } else if (v instanceof Enum<?> e) {
            appendString(out, e.name());
        } else {
            appendString(out, v.toString());
        }
    }

    /** {@code v} as JSON text. */
    static String write(Object v) {
        StringBuilder sb = new StringBuilder(64);
        appendValue(sb, v);
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------------------
    // Reading

    /**
     * Parses one JSON value: objects as {@link LinkedHashMap}, arrays as {@link ArrayList}, strings, numbers
     * ({@link Long} when integral and in range, else {@link Double}), booleans and null.
     *
     * @throws IllegalArgumentException where the text is not JSON, with the offset
     */
    static Object parse(String text) {
        Reader r = new Reader(text);
        r.skipSpace();
        Object v = r.value(0);
        r.skipSpace();
        if (r.pos != text.length()) {
            throw r.error("unexpected text after the value");
        }
        return v;
    }

    private static final class Reader {
        final String s;
        int pos;

        Reader(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("not JSON: " + what + " at offset " + pos);
        }

        void skipSpace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        Object value(int depth) {
            if (depth > 512) {
                throw error("nested too deep");
            }
            if (pos >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth);
                case '[':
                    return array(depth);
                case '"':
                    return string();
                case 't':
                    literal("true");
                    return Boolean.TRUE;
                case 'f':
                    literal("false");
                    return Boolean.FALSE;
                case 'n':
                    literal("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw error("unexpected character '" + c + "'");
            }
        }

        void literal(String word) {
            if (!s.startsWith(word, pos)) {
                throw error("expected " + word);
            }
            pos += word.length();
        }

        Map<String, Object> object(int depth) {
            Map<String, Object> m = new LinkedHashMap<>();
            pos++; // {
            skipSpace();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipSpace();
                if (pos >= s.length() || s.charAt(pos) != '"') {
                    throw error("expected a string key");
                }
                String key = string();
                skipSpace();
                if (pos >= s.length() || s.charAt(pos) != ':') {
                    throw error("expected ':'");
                }
                pos++;
                skipSpace();
                m.put(key, value(depth + 1));
                skipSpace();
                if (pos >= s.length()) {
                    throw error("unexpected end in an object");
                }
                char c = s.charAt(pos++);
                if (c == '}') {
                    return m;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or '}'");
                }
            }
        }

        List<Object> array(int depth) {
            List<Object> list = new ArrayList<>();
            pos++; // [
            skipSpace();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipSpace();
                list.add(value(depth + 1));
                skipSpace();
                if (pos >= s.length()) {
                    throw error("unexpected end in an array");
                }
                char c = s.charAt(pos++);
                if (c == ']') {
                    return list;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or ']'");
                }
            }
        }

        String string() {
            pos++; // opening quote
            StringBuilder sb = null;
            int start = pos;
            while (true) {
                if (pos >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(pos);
                if (c == '"') {
                    String out = sb == null ? s.substring(start, pos) : sb.append(s, start, pos).toString();
                    pos++;
                    return out;
                }
                if (c < 0x20) {
                    throw error("control character in a string");
                }
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (sb == null) {
                    sb = new StringBuilder();
                }
                sb.append(s, start, pos);
                pos++;
                if (pos >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        int code = 0;
                        for (int i = 0; i < 4; i++) {
                            int d = hex(s.charAt(pos + i));
                            if (d < 0) {
                                throw error("bad \\u escape");
                            }
                            code = code * 16 + d;
                        }
                        pos += 4;
                        sb.append((char) code); // surrogate pairs come as two escapes and join up here
                    }
                    default -> {
                        pos--;
                        throw error("bad escape '\\" + e + "'");
                    }
                }
                start = pos;
            }
        }

        private static int hex(char c) {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            if (c >= 'A' && c <= 'F') {
                return c - 'A' + 10;
            }
            return -1;
        }

        private static boolean digit(char c) {
            return c >= '0' && c <= '9';
        }

        Object number() {
            int start = pos;
            if (s.charAt(pos) == '-') {
                pos++;
            }
            int digits = pos;
            while (pos < s.length() && digit(s.charAt(pos))) {
                pos++;
            }
            if (pos == digits) {
                throw error("expected a digit");
            }
            boolean integral = true;
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                int frac = pos;
                while (pos < s.length() && digit(s.charAt(pos))) {
                    pos++;
                }
                if (pos == frac) {
                    throw error("expected a digit after '.'");
                }
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                    pos++;
                }
                int exp = pos;
                while (pos < s.length() && digit(s.charAt(pos))) {
                    pos++;
                }
                if (pos == exp) {
                    throw error("expected a digit in the exponent");
                }
            }
            String text = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException tooBig) {
                    // falls through to a double
                }
            }
            return Double.parseDouble(text);
        }
    }
}
