package dev.sortie.server;

import dev.sortie.core.model.MetricPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a metric's series to at most {@code max} points for a chart: the steps are split into buckets of equal
 * size and each bucket keeps its lowest and its highest point (in step order), so a spike or a dip survives
 * however far the series is cut; the first and last points are always kept.
 */
final class Downsample {
    private Downsample() {
    }

    static List<MetricPoint> minMax(List<MetricPoint> series, int max) {
        int n = series.size();
        if (n <= max || max < 4) {
            return n <= max ? series : series.subList(0, Math.max(0, max));
        }
        int buckets = (max - 2) / 2;
        List<MetricPoint> out = new ArrayList<>(max);
        out.add(series.get(0));
        int inner = n - 2;
        for (int b = 0; b < buckets; b++) {
            int from = 1 + (int) ((long) inner * b / buckets);
            int to = 1 + (int) ((long) inner * (b + 1) / buckets);
            if (from >= to) {
                continue;
            }
            int lo = from;
            int hi = from;
            for (int i = from; i < to; i++) {
                double v = series.get(i).value();
                if (Double.isNaN(v)) {
                    continue;
                }
                if (Double.isNaN(series.get(lo).value()) || v < series.get(lo).value()) {
                    lo = i;
                }
                if (Double.isNaN(series.get(hi).value()) || v > series.get(hi).value()) {
                    hi = i;
                }
            }
            out.add(series.get(Math.min(lo, hi)));
            if (lo != hi) {
                out.add(series.get(Math.max(lo, hi)));
            }
        }
        out.add(series.get(n - 1));
        return out;
    }

    /**
     * The width of the buckets {@link #aligned} cuts the steps {@code lo} to {@code hi} into for about {@code buckets}
     * buckets: the power of two at or above (hi - lo + 1) / buckets, so that the buckets, which start at multiples of
     * it, are unions of whole buckets of the ledger's rollups (Ledger#seriesExtremes) and the cut of the rollups equals
     * the cut of every point. Between buckets / 2 and buckets + 1 buckets come out.
     */
    static long gridWidth(long lo, long hi, int buckets) {
        double ideal = (hi - lo + 1) / (double) Math.max(1, buckets);
        long width = 1;
        while (width < ideal && width < (1L << 62)) {
            width <<= 1;
        }
        return width;
    }

    /**
     * Several series of one metric cut onto one grid, for one chart of them all: the steps from the lowest first step to
     * the highest last step are split into buckets of {@link #gridWidth} steps starting at multiples of it (about
     * {@code buckets} of them), and each bucket gives every series two slots,
     * its lowest and its highest point there in the order they came (one point fills the first slot alone; a bucket
     * without points leaves both null; of equal values the first). The slots' steps are the bucket's start and middle:
     * every series is drawn against the same steps, however many points and steps each had, and no extreme is lost.
     */
    static Aligned aligned(List<List<MetricPoint>> series, int buckets) {
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (List<MetricPoint> s : series) {
            if (!s.isEmpty()) {
                lo = Math.min(lo, s.get(0).step());
                hi = Math.max(hi, s.get(s.size() - 1).step());
            }
        }
        if (lo > hi) {
            return new Aligned(new double[0], series.stream().map(s -> new Double[0]).toList());
        }
        long width = gridWidth(lo, hi, buckets);
        long origin = Math.floorDiv(lo, width);
        int count = (int) (Math.floorDiv(hi, width) - origin + 1);
        buckets = count;
        double[] steps = new double[2 * count];
        for (int b = 0; b < count; b++) {
            steps[2 * b] = (double) (origin + b) * width;
            steps[2 * b + 1] = (origin + b + 0.5) * width;
        }
        List<Double[]> values = new ArrayList<>();
        for (List<MetricPoint> s : series) {
            Double[] v = new Double[2 * buckets];
            int[] low = new int[buckets];
            int[] high = new int[buckets];
            java.util.Arrays.fill(low, -1);
            java.util.Arrays.fill(high, -1);
            for (int i = 0; i < s.size(); i++) {
                double value = s.get(i).value();
                if (Double.isNaN(value)) {
                    continue;
                }
                int b = (int) (Math.floorDiv(s.get(i).step(), width) - origin);
                if (low[b] < 0 || value < s.get(low[b]).value()) {
                    low[b] = i;
                }
                if (high[b] < 0 || value > s.get(high[b]).value()) {
                    high[b] = i;
                }
            }
            for (int b = 0; b < buckets; b++) {
                if (low[b] < 0) {
                    continue;
                }
                int first = Math.min(low[b], high[b]);
                int second = Math.max(low[b], high[b]);
                v[2 * b] = s.get(first).value();
                v[2 * b + 1] = first == second ? null : s.get(second).value();
            }
            values.add(v);
        }
        return new Aligned(steps, values);
    }

    /** Series on one grid of steps: {@code values.get(i)[j]} is series i at {@code steps[j]}, or null. */
    record Aligned(double[] steps, List<Double[]> values) {
    }
}
