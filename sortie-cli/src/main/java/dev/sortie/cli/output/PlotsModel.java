package dev.sortie.cli.output;

import dev.sortie.core.model.MetricPoint;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What {@code sortie plots} draws, independent of the drawing: charts (one per metric) of series (one per
 * experiment), plus the numeric helpers both renderers share: round-number axis ticks and min/max downsampling.
 * Non-finite values (NaN, infinities) never reach a chart: {@link Series#of} drops them.
 */
public final class PlotsModel {
    /** The most points of one line in the SVG; buckets keep their min and max, so spikes survive. */
    public static final int MAX_SVG_POINTS = 2000;

    private PlotsModel() {
    }

    /**
     * One line: an experiment's points of one metric, by step. {@code color} indexes {@link #color(int)} and stays
     * the same for an experiment across charts.
     */
    public record Series(String name, int color, long[] steps, double[] values, double[] x) {
        /** {@code x}: where each point is drawn; null: at its step. Decimal for DVC's curves (an ROC's fpr). */
        public Series {
            Objects.requireNonNull(name, "name");
            if (steps.length != values.length) {
                throw new IllegalArgumentException("steps and values differ in length");
            }
            if (x == null) {
                x = new double[steps.length];
                for (int i = 0; i < steps.length; i++) {
                    x[i] = steps[i];
                }
            } else if (x.length != values.length) {
                throw new IllegalArgumentException("x and values differ in length");
            }
        }

        public Series(String name, int color, long[] steps, double[] values) {
            this(name, color, steps, values, null);
        }

        /**
         * A curve against a decimal x (DVC's plots: fpr, recall), its finite points sorted by x (stable, so a
         * curve's points at the same x keep their order); {@link #steps} are then the points' ranks.
         */
        public static Series decimal(String name, int color, double[] x, double[] values) {
            int n = 0;
            Integer[] idx = new Integer[x.length];
            for (int i = 0; i < x.length; i++) {
                if (Double.isFinite(x[i]) && Double.isFinite(values[i])) {
                    idx[n++] = i;
                }
            }
            Integer[] keep = Arrays.copyOf(idx, n);
            Arrays.sort(keep, (a, b) -> Double.compare(x[a], x[b]));
            long[] s = new long[n];
            double[] xs = new double[n];
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                s[i] = i;
                xs[i] = x[keep[i]];
                v[i] = values[keep[i]];
            }
            return new Series(name, color, s, v, xs);
        }

        /** A series of the finite points among {@code steps}/{@code values}, sorted by step (stable). */
        public static Series of(String name, int color, long[] steps, double[] values) {
            int n = 0;
            long[] s = new long[steps.length];
            double[] v = new double[values.length];
            boolean sorted = true;
            for (int i = 0; i < steps.length; i++) {
                if (Double.isFinite(values[i])) {
                    if (n > 0 && steps[i] < s[n - 1]) {
                        sorted = false;
                    }
                    s[n] = steps[i];
                    v[n] = values[i];
                    n++;
                }
            }
            s = Arrays.copyOf(s, n);
            v = Arrays.copyOf(v, n);
            if (!sorted) {
                Integer[] idx = new Integer[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = i;
                }
                final long[] fs = s;
                Arrays.sort(idx, (a, b) -> Long.compare(fs[a], fs[b]));
                long[] s2 = new long[n];
                double[] v2 = new double[n];
                for (int i = 0; i < n; i++) {
                    s2[i] = s[idx[i]];
                    v2[i] = v[idx[i]];
                }
                s = s2;
                v = v2;
            }
            return new Series(name, color, s, v);
        }

        public int size() {
            return steps.length;
        }

        public boolean isEmpty() {
            return steps.length == 0;
        }
    }

    /**
     * One chart: a metric and its lines, against {@code x}: {@link #STEP} (the metric's steps) or {@link #SECONDS}
     * (seconds since the experiment started: system metrics, sampled in time, have no step of their own).
     */
    public record Chart(String metric, List<Series> series, String x) {
        public Chart {
            Objects.requireNonNull(metric, "metric");
            series = List.copyOf(series);
            Objects.requireNonNull(x, "x");
        }

        public Chart(String metric, List<Series> series) {
            this(metric, series, STEP);
        }

        /** Whether x is whole numbers (steps, seconds) rather than a decimal field of a DVC plot. */
        public boolean integerX() {
            return STEP.equals(x) || SECONDS.equals(x);
        }

        public boolean hasData() {
            return series.stream().anyMatch(s -> !s.isEmpty());
        }

        public int points() {
            return series.stream().mapToInt(Series::size).sum();
        }
    }

    public static final String STEP = "step";
    public static final String SECONDS = "seconds";
    /** System metrics (CPU, memory, GPU) the run's sampler records: drawn against time. */
    public static final String SYSTEM_PREFIX = "sys/";

    /**
     * One experiment as a source of series: its name (the legend), the metrics it has, how to read the step
     * series of one of them, and when it started (system metrics are drawn in seconds from there; null: from
     * each series' first point).
     */
    public record Source(String name, Set<String> metrics, Function<String, List<MetricPoint>> series, java.time.Instant started) {
        public Source {
            Objects.requireNonNull(name, "name");
            metrics = Set.copyOf(metrics);
            Objects.requireNonNull(series, "series");
        }

        public Source(String name, Set<String> metrics, Function<String, List<MetricPoint>> series) {
            this(name, metrics, series, null);
        }
    }

    /** A summary metric: one value per experiment (null where it has none), shown as a value, not a one-point chart. */
    public record Value(String metric, List<String> experiments, List<Double> values) {
        public Value {
            experiments = List.copyOf(experiments);
            values = java.util.Collections.unmodifiableList(new ArrayList<>(values));
        }
    }

    /** What {@link #plots} makes: charts of series, and the single values. */
    public record Plots(List<Chart> charts, List<Value> values) {
        public Plots {
            charts = List.copyOf(charts);
            values = List.copyOf(values);
        }

        public boolean isEmpty() {
            return charts.isEmpty() && values.isEmpty();
        }
    }

    /**
     * The charts of {@code sources}: one per metric of {@code requested} (in that order, duplicates dropped) or,
     * when none is requested, one per metric any source has (sorted); one series per source that has the metric.
     * Each source keeps its colour across charts.
     *
     * @throws IllegalArgumentException for a requested metric no source has, naming the metrics there are
     */
    public static List<Chart> charts(List<Source> sources, List<String> requested) {
        return plots(sources, requested).charts();
    }

    /**
     * As {@link #charts}, but a metric that no experiment has more than one point of (a summary: final accuracy, a
     * test AUC) is a {@link Value}, not a chart of one point; a system metric ({@code sys/*}) is drawn against
     * seconds since its experiment started.
     */
    public static Plots plots(List<Source> sources, List<String> requested) {
        Set<String> available = new TreeSet<>();
        for (Source s : sources) {
            available.addAll(s.metrics());
        }
        Set<String> metrics = new LinkedHashSet<>();
        if (requested == null || requested.isEmpty()) {
            metrics.addAll(available);
        } else {
            List<String> unknown = new ArrayList<>();
            for (String m : requested) {
                String t = m.trim();
                if (t.isEmpty()) {
                    continue;
                }
                if (available.contains(t)) {
                    metrics.add(t);
                } else if (!unknown.contains(t)) {
                    unknown.add(t);
                }
            }
            if (!unknown.isEmpty()) {
                String what = unknown.size() == 1 ? "unknown metric '" + unknown.get(0) + "'"
                        : "unknown metrics " + unknown.stream().map(u -> "'" + u + "'").collect(Collectors.joining(", "));
                throw new IllegalArgumentException(what + "; " + (available.isEmpty() ? "the experiments have no metrics"
                        : "metrics of these experiments: " + String.join(", ", available)));
            }
        }
        List<Chart> charts = new ArrayList<>();
        List<Value> singles = new ArrayList<>();
        for (String m : metrics) {
            boolean time = m.startsWith(SYSTEM_PREFIX);
            List<Series> series = new ArrayList<>();
            List<String> names = new ArrayList<>();
            List<Double> last = new ArrayList<>();
            int most = 0;
            for (int i = 0; i < sources.size(); i++) {
                Source src = sources.get(i);
                if (!src.metrics().contains(m)) {
                    continue;
                }
                List<MetricPoint> points = src.series().apply(m);
                long[] steps = new long[points.size()];
                double[] values = new double[points.size()];
                java.time.Instant t0 = src.started() != null ? src.started()
                        : points.stream().map(MetricPoint::time).filter(Objects::nonNull).min(java.util.Comparator.naturalOrder()).orElse(null);
                for (int j = 0; j < points.size(); j++) {
                    MetricPoint p = points.get(j);
                    steps[j] = time && t0 != null && p.time() != null ? Math.max(0, java.time.Duration.between(t0, p.time()).toSeconds()) : p.step();
                    values[j] = p.value();
                }
                Series one = Series.of(src.name(), i, steps, values);
                series.add(one);
                most = Math.max(most, one.size());
                names.add(src.name());
                last.add(one.isEmpty() ? null : one.values()[one.size() - 1]);
            }
            if (most <= 1 && !time) {
                singles.add(new Value(m, names, last));
            } else {
                charts.add(new Chart(m, series, time ? SECONDS : STEP));
            }
        }
        return new Plots(charts, singles);
    }

    /** Axis ticks: the axis runs from {@code min} to {@code max} (both ticks), {@code spacing} apart. */
    public record Ticks(double min, double max, double spacing, List<Double> values, List<String> labels) {
        public Ticks {
            values = List.copyOf(values);
            labels = List.copyOf(labels);
        }
    }

    /**
     * Round-number ticks (1, 2 or 5 times a power of ten) covering {@code [lo, hi]}, about {@code target} of them.
     * An empty range ({@code lo == hi}) is widened around its value. With {@code integers} the spacing is at least 1
     * (steps are whole numbers).
     */
    public static Ticks ticks(double lo, double hi, int target, boolean integers) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) {
            lo = 0;
            hi = 1;
        }
        if (lo > hi) {
            double t = lo;
            lo = hi;
            hi = t;
        }
        if (lo == hi) {
            double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            if (integers) {
                pad = Math.max(1, Math.ceil(pad));
            }
            lo -= pad;
            hi += pad;
        }
        int n = Math.max(2, target);
        double spacing = niceNumber((hi - lo) / (n - 1), true);
        if (integers && spacing < 1) {
            spacing = 1;
        }
        if (!(spacing > 0) || !Double.isFinite(spacing)) {
            spacing = Math.max(Math.ulp(hi), (hi - lo));
        }
        double first = Math.floor(lo / spacing) * spacing;
        double last = Math.ceil(hi / spacing) * spacing;
        int decimals = decimals(spacing);
        boolean scientific = useScientific(Math.max(Math.abs(first), Math.abs(last)), spacing);
        List<Double> values = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        long count = Math.round((last - first) / spacing);
        for (long i = 0; i <= count && i <= 1000; i++) {
            double v = round(first + i * spacing, decimals);
            if (v == 0) {
                v = 0; // no "-0"
            }
            values.add(v);
            labels.add(scientific ? scientific(v, spacing) : plain(v, decimals));
        }
        return new Ticks(values.get(0), values.get(values.size() - 1), spacing, values, labels);
    }

    /** Heckbert's nice number: 1, 2, 5 or 10 times a power of ten, near {@code x} (rounded) or not below it. */
    static double niceNumber(double x, boolean round) {
        if (!(x > 0) || !Double.isFinite(x)) {
            return 1;
        }
        double exp = Math.floor(Math.log10(x));
        double pow = Math.pow(10, exp);
        double f = x / pow;
        double nice;
        if (round) {
            nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
        } else {
            nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        }
        return nice * pow;
    }

    private static int decimals(double spacing) {
        return (int) Math.max(0, -Math.floor(Math.log10(spacing) + 1e-9));
    }

    private static boolean useScientific(double magnitude, double spacing) {
        return magnitude >= 1e7 || (spacing < 1e-4 && magnitude < 1e-2) || decimals(spacing) > 6;
    }

    private static double round(double v, int decimals) {
        if (decimals > 15) {
            return v;
        }
        return BigDecimal.valueOf(v).setScale(decimals, java.math.RoundingMode.HALF_UP).doubleValue();
    }

    private static String plain(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String scientific(double v, double spacing) {
        if (v == 0) {
            return "0";
        }
        // enough significant digits that neighbouring ticks differ
        int digits = (int) Math.max(0, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(spacing)));
        String s = String.format(Locale.ROOT, "%." + Math.min(digits, 6) + "e", v);
        // 1.50e+07 -> 1.5e7
        int e = s.indexOf('e');
        String mant = s.substring(0, e);
        if (mant.contains(".")) {
            mant = mant.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        int exp = Integer.parseInt(s.substring(e + 1));
        return mant + "e" + exp;
    }

    /** A value as a hover label shows it: up to 6 significant digits, plain where that reads well. */
    public static String formatValue(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        double a = Math.abs(v);
        if (a >= 1e-4 && a < 1e7) {
            return new BigDecimal(String.format(Locale.ROOT, "%.6g", v)).stripTrailingZeros().toPlainString();
        }
        String e = String.format(Locale.ROOT, "%.5e", v); // 1.50000e-09
        int at = e.indexOf('e');
        String mant = e.substring(0, at).replaceAll("0+$", "").replaceAll("\\.$", "");
        return mant + "e" + Integer.parseInt(e.substring(at + 1));
    }

    /**
     * At most {@code maxPoints} points of {@code s}: the first and the last, and per bucket of the points between
     * them the lowest and the highest value, in step order. Series that are short enough come back as they are.
     */
    public static Series downsample(Series s, int maxPoints) {
        int n = s.size();
        if (maxPoints < 4) {
            maxPoints = 4;
        }
        if (n <= maxPoints) {
            return s;
        }
        int buckets = (maxPoints - 2) / 2;
        long[] steps = new long[maxPoints];
        double[] xs = new double[maxPoints];
        double[] values = new double[maxPoints];
        int k = 0;
        xs[k] = s.x()[0];
        steps[k] = s.steps()[0];
        values[k++] = s.values()[0];
        int inner = n - 2; // indices 1 .. n-2
        for (int b = 0; b < buckets; b++) {
            int from = 1 + (int) ((long) b * inner / buckets);
            int to = 1 + (int) ((long) (b + 1) * inner / buckets); // exclusive
            if (from >= to) {
                continue;
            }
            int min = from;
            int max = from;
            for (int i = from + 1; i < to; i++) {
                double v = s.values()[i];
                if (v < s.values()[min]) {
                    min = i;
                }
                if (v > s.values()[max]) {
                    max = i;
                }
            }
            int a = Math.min(min, max);
            int c = Math.max(min, max);
            xs[k] = s.x()[a];
            steps[k] = s.steps()[a];
            values[k++] = s.values()[a];
            if (c != a) {
                xs[k] = s.x()[c];
                steps[k] = s.steps()[c];
                values[k++] = s.values()[c];
            }
        }
        xs[k] = s.x()[n - 1];
        steps[k] = s.steps()[n - 1];
        values[k++] = s.values()[n - 1];
        return new Series(s.name(), s.color(), Arrays.copyOf(steps, k), Arrays.copyOf(values, k), Arrays.copyOf(xs, k));
    }

    /** The data range of a chart over all its series: {minX, maxX, minValue, maxValue}; null without data. */
    public static double[] bounds(Chart c) {
        double x0 = Double.POSITIVE_INFINITY;
        double x1 = Double.NEGATIVE_INFINITY;
        double y0 = Double.POSITIVE_INFINITY;
        double y1 = Double.NEGATIVE_INFINITY;
        for (Series s : c.series()) {
            for (int i = 0; i < s.size(); i++) {
                x0 = Math.min(x0, s.x()[i]);
                x1 = Math.max(x1, s.x()[i]);
                y0 = Math.min(y0, s.values()[i]);
                y1 = Math.max(y1, s.values()[i]);
            }
        }
        return x0 > x1 ? null : new double[] {x0, x1, y0, y1};
    }

    /** Line colours, told apart easily (Tableau 10); beyond ten, further hues of the same lightness. */
    private static final int[] PALETTE = {
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

    /** The RGB colour of line {@code i}. */
    public static int color(int i) {
        if (i >= 0 && i < PALETTE.length) {
            return PALETTE[i];
        }
        // golden-angle hues, so consecutive extra lines stay apart
        double hue = ((i - PALETTE.length) * 0.381966 + 0.05) % 1.0;
        return hsv(hue, 0.75, 0.8);
    }

    /** HSV (each 0..1) to RGB, without loading AWT for the HTML output. */
    static int hsv(double h, double s, double v) {
        double hh = (h - Math.floor(h)) * 6;
        int sector = (int) Math.floor(hh) % 6;
        double f = hh - Math.floor(hh);
        double p = v * (1 - s);
        double q = v * (1 - s * f);
        double t = v * (1 - s * (1 - f));
        double r;
        double g;
        double b;
        switch (sector) {
            case 0 -> { r = v; g = t; b = p; }
            case 1 -> { r = q; g = v; b = p; }
            case 2 -> { r = p; g = v; b = t; }
            case 3 -> { r = p; g = q; b = v; }
            case 4 -> { r = t; g = p; b = v; }
            default -> { r = v; g = p; b = q; }
        }
        return ((int) Math.round(r * 255) << 16) | ((int) Math.round(g * 255) << 8) | (int) Math.round(b * 255);
    }

    public static String hex(int rgb) {
        return String.format(Locale.ROOT, "#%06x", rgb & 0xffffff);
    }
}
