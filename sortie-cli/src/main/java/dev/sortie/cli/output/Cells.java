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

    private static final double[] POW10 = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};

    /**
     * Four significant digits, like a person would round; integers as integers. Done with integer arithmetic
     * rather than BigDecimal or String.format: a 10,000-row table formats hundreds of thousands of numbers.
     */
    public static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return String.valueOf(d);
        }
        double abs = Math.abs(d);
        if (d == Math.rint(d) && abs < 1e12) {
            return Long.toString((long) d);
        }
        if (abs < 1e-4 || abs >= 1e6) {
            return String.format(Locale.ROOT, "%.3e", d);
        }
        int exponent = (int) Math.floor(Math.log10(abs));
        int decimals = Math.max(0, 3 - exponent);
        String digits = Long.toString(Math.round(abs * POW10[decimals]));
        StringBuilder sb = new StringBuilder(12);
        if (d < 0) {
            sb.append('-');
        }
        if (decimals == 0) {
            return sb.append(digits).toString();
        }
        if (digits.length() <= decimals) {
            sb.append("0.").append("0".repeat(decimals - digits.length())).append(digits);
        } else {
            sb.append(digits, 0, digits.length() - decimals).append('.').append(digits, digits.length() - decimals, digits.length());
        }
        int end = sb.length();
        while (sb.charAt(end - 1) == '0') {
            end--;
        }
        if (sb.charAt(end - 1) == '.') {
            end--;
        }
        sb.setLength(end);
        return sb.toString();
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
