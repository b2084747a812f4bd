package dev.sortie.cli.output;

import dev.sortie.core.metrics.MetricLineParser;
import java.time.Duration;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code --filter} condition: {@code FIELD OP VALUE} with OP one of {@code = != < <= > >= ~} (~ is "contains").
 * Numbers compare as numbers; everything else as text. A row without the field never matches.
 */
public record RowFilter(String text, String field, String op, String value) {
    private static final Pattern FORM = Pattern.compile("\\s*([A-Za-z0-9_.:/\\-]+)\\s*(<=|>=|!=|==|=|<|>|~)\\s*(.*?)\\s*");

    public static RowFilter parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("--filter '" + text + "': expected FIELD OP VALUE with OP one of = != < <= > >= ~, e.g. 'loss<0.3' or 'status=failed'");
        }
        String op = m.group(2).equals("==") ? "=" : m.group(2);
        String value = m.group(3);
        // 'loss<<0.3' or 'loss<=>1' would compare with the text '<0.3' and keep rows nobody meant
        if (!value.isEmpty() && "<>=!~".indexOf(value.charAt(0)) >= 0) {
            throw new IllegalArgumentException("--filter '" + text + "': expected a value after '" + op + "', got '" + value
                    + "' (one operator of = != < <= > >= ~), e.g. '" + m.group(1) + op + "0.3'");
        }
        if (value.isEmpty() && !op.equals("=") && !op.equals("!=") && !op.equals("~")) {
            throw new IllegalArgumentException("--filter '" + text + "': expected a value after '" + op + "', e.g. '" + m.group(1) + op + "0.3'");
        }
        return new RowFilter(text, m.group(1), op, value);
    }

    /** True when this filter orders or equates values, so a column of numbers needs a number here. */
    public boolean needsNumber() {
        return !op.equals("~") && MetricLineParser.number(value) == null;
    }

    public boolean test(Object cell) {
        if (cell == null) {
            return op.equals("!=");
        }
        if (op.equals("~")) {
            return String.valueOf(cell).contains(value);
        }
        int c;
        Double a = asNumber(cell);
        Double b = MetricLineParser.number(value);
        if (a != null && b != null) {
            c = Double.compare(a, b);
        } else {
            c = Cells.raw(cell).compareTo(value);
        }
        return switch (op) {
            case "=" -> c == 0;
            case "!=" -> c != 0;
            case "<" -> c < 0;
            case "<=" -> c <= 0;
            case ">" -> c > 0;
            default -> c >= 0;
        };
    }

    static Double asNumber(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        if (v instanceof Duration d) {
            return d.toMillis() / 1000.0;
        }
        if (v instanceof Instant i) {
            return (double) i.toEpochMilli();
        }
        return v == null ? null : MetricLineParser.number(String.valueOf(v));
    }

    static int compareValues(Object a, Object b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        Double x = asNumber(a);
        Double y = asNumber(b);
        if (x != null && y != null) {
            return Double.compare(x, y);
        }
        return Cells.raw(a).compareTo(Cells.raw(b));
    }
}
