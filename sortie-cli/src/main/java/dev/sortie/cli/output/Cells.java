package dev.sortie.cli.output;

import dev.sortie.core.config.Units;
import dev.sortie.core.params.Params;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** How values look in tables: short for people, exact for CSV and JSON. */
public final class Cells {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);

    private Cells() {
    }

    public static String text(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Double d) {
            return number(d);
        }
        if (v instanceof Float f) {
            return number(f.doubleValue());
        }
        if (v instanceof Instant i) {
            return WHEN.format(LocalDateTime.ofInstant(i, ZoneId.systemDefault()));
        }
        if (v instanceof Duration d) {
            return Units.human(d);
        }
        if (v instanceof List<?> || v instanceof Map<?, ?>) {
            return Params.render(v);
        }
        return String.valueOf(v);
    }

    /** Four significant digits, like a person would round; integers as integers. */
    public static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return String.valueOf(d);
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e12) {
            return String.valueOf((long) d);
        }
        double abs = Math.abs(d);
        if (abs >= 1e-4 && abs < 1e6) {
            String s = new java.math.BigDecimal(d).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
            return s;
        }
        return String.format(Locale.ROOT, "%.3e", d);
    }

    public static String raw(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Instant i) {
            return i.toString();
        }
        if (v instanceof Duration d) {
            return String.format(Locale.ROOT, "%.3f", d.toMillis() / 1000.0);
        }
        if (v instanceof List<?> || v instanceof Map<?, ?>) {
            return Params.render(v);
        }
        return String.valueOf(v);
    }

    public static Object json(Object v) {
        if (v instanceof Instant i) {
            return i.toString();
        }
        if (v instanceof Duration d) {
            return d.toMillis() / 1000.0;
        }
        if (v instanceof Double d && (d.isNaN() || d.isInfinite())) {
            return String.valueOf(d);
        }
        return v;
    }
}
