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
}
