package dev.sortie.core.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing of the human units config uses: durations ({@code 90s}, {@code 30m}, {@code 1h30m}) and sizes ({@code 16G}). */
public final class Units {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgtp]?)(i?b?)?", Pattern.CASE_INSENSITIVE);

    private Units() {
    }

    /** Seconds as a bare number, or a sequence of number+unit (ms, s, m, h, d). */
    public static Duration duration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.matches("\\d+")) {
            return Duration.ofSeconds(Long.parseLong(t));
        }
        Matcher m = DURATION_PART.matcher(t);
        Duration total = Duration.ZERO;
        int pos = 0;
        while (m.find() && m.start() == pos) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
            pos = m.end();
        }
        if (pos == 0 || pos != t.length()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (e.g. 90s, 30m, 2h, 1h30m, or seconds as a number)");
        }
        return total;
    }

    /** Bytes from {@code 512M}, {@code 16G}, {@code 1.5T}, {@code 16GiB}; powers of 1024. */
    public static long size(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 512M, 16G, 1T)");
        }
        double n = Double.parseDouble(m.group(1));
        int power = "kmgtp".indexOf(m.group(2).toLowerCase(Locale.ROOT)) + 1;
        return (long) (n * Math.pow(1024, power));
    }

    public static String human(Duration d) {
        if (d == null) {
            return "";
        }
        long s = d.getSeconds();
        if (s < 60) {
            return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }

    /** A byte count for people: {@code 512 B}, {@code 3.4 KiB}, {@code 30.0 MiB}, {@code 1.25 GiB}. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
        }
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    }
}
