package dev.sortie.cli.output;

import dev.sortie.core.ledger.Condition;
import dev.sortie.core.metrics.MetricLineParser;
import java.time.Duration;
import java.time.Instant;

/**
 * One {@code --filter} condition: {@code FIELD OP VALUE} with OP one of {@code = != < <= > >= ~} (~ is "contains").
 * Numbers compare as numbers; everything else as text. A row without the field never matches.
 */
public record RowFilter(String text, String field, String op, String value) {

    /** The filter language is core's ({@link Condition}): the server's experiments list reads the same expressions. */
    public static RowFilter parse(String text) {
        Condition c = Condition.parse(text);
        return new RowFilter(c.text(), c.field(), c.op(), c.value());
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
