package dev.sortie.cli.output;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import dev.sortie.cli.output.PlotsModel.Ticks;
import java.util.ArrayList;
import java.util.List;

/**
 * Where things go in one chart, in pixels, shared by the SVG and the PNG so both look the same: the title on
 * top, the legend under it (wrapping into rows), the plot area with its ticks, "step" under the x axis.
 * Text widths are estimated (12px sans-serif), which is all an SVG can know in advance.
 */
public final class PlotsLayout {
    static final int TITLE_HEIGHT = 30;
    static final int LEGEND_ROW = 18;
    static final int BOTTOM = 40;
    static final int RIGHT = 24;
    static final int FONT_SIZE = 12;
    static final double CHAR_WIDTH = 7.0;

    /** A legend entry: a series, the left of its colour swatch and the baseline of its text. */
    public record LegendItem(Series series, double x, double y) {
    }

    private final Chart chart;
    private final int width;
    private final int height;
    private final double left;
    private final double top;
    private final double right;
    private final double bottom;
    private final Ticks xTicks;
    private final Ticks yTicks;
    private final List<LegendItem> legend;

    private PlotsLayout(Chart chart, int width, int plotHeight) {
        this.chart = chart;
        this.width = width;
        double[] b = PlotsModel.bounds(chart);
        Ticks y = b == null ? PlotsModel.ticks(0, 1, 6, false) : PlotsModel.ticks(b[2], b[3], 6, false);
        int yLabelChars = y.labels().stream().mapToInt(String::length).max().orElse(1);
        this.left = Math.max(48, Math.ceil(yLabelChars * CHAR_WIDTH) + 18);
        // the last x label is centred on the right edge of the plot: leave room for half of it
        boolean ints = chart.integerX();
        Ticks probe = b == null ? PlotsModel.ticks(0, 1, 6, ints) : PlotsModel.ticks(b[0], b[1], 6, ints);
        String lastLabel = probe.labels().get(probe.labels().size() - 1);
        this.right = width - Math.max(RIGHT, Math.ceil(textWidth(lastLabel) / 2) + 8);
        int xTarget = (int) Math.max(2, Math.min(11, (right - left) / 90));
        Ticks x = b == null ? PlotsModel.ticks(0, 1, xTarget, ints) : PlotsModel.ticks(b[0], b[1], xTarget, ints);
        // long step labels (1000000) need more room than the estimate above assumed
        int xLabelChars = x.labels().stream().mapToInt(String::length).max().orElse(1);
        if (x.values().size() > 2 && (right - left) / (x.values().size() - 1) < xLabelChars * CHAR_WIDTH + 16) {
            int fit = (int) Math.max(2, (right - left) / (xLabelChars * CHAR_WIDTH + 16));
            x = b == null ? x : PlotsModel.ticks(b[0], b[1], fit, ints);
        }
        this.xTicks = x;
        this.yTicks = y;

        List<LegendItem> items = new ArrayList<>();
        double lx = left;
        double ly = TITLE_HEIGHT + LEGEND_ROW - 4;
        for (Series s : chart.series()) {
            double w = legendWidth(s.name());
            if (lx > left && lx + w > right) {
                lx = left;
                ly += LEGEND_ROW;
            }
            items.add(new LegendItem(s, lx, ly));
            lx += w;
        }
        this.legend = List.copyOf(items);
        int rows = items.isEmpty() ? 0 : (int) Math.round((ly - (TITLE_HEIGHT + LEGEND_ROW - 4)) / LEGEND_ROW) + 1;
        this.top = TITLE_HEIGHT + rows * LEGEND_ROW + 12;
        this.bottom = top + plotHeight;
        this.height = (int) Math.ceil(bottom + BOTTOM);
    }

    /** The layout of {@code chart} in a box {@code width} wide whose plot area is {@code plotHeight} high. */
    public static PlotsLayout of(Chart chart, int width, int plotHeight) {
        return new PlotsLayout(chart, Math.max(240, width), Math.max(60, plotHeight));
    }

    static double legendWidth(String name) {
        return 16 + 6 + textWidth(name) + 18;
    }

    static double textWidth(String s) {
        return s.length() * CHAR_WIDTH;
    }

    public Chart chart() {
        return chart;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The plot area: left, top, right and bottom edges. */
    public double left() {
        return left;
    }

    public double top() {
        return top;
    }

    public double right() {
        return right;
    }

    public double bottom() {
        return bottom;
    }

    public Ticks xTicks() {
        return xTicks;
    }

    public Ticks yTicks() {
        return yTicks;
    }

    public List<LegendItem> legend() {
        return legend;
    }

    /** The x pixel of a step. */
    public double px(double step) {
        double span = xTicks.max() - xTicks.min();
        return left + (span == 0 ? 0.5 : (step - xTicks.min()) / span) * (right - left);
    }

    /** The y pixel of a value (up is bigger). */
    public double py(double value) {
        double span = yTicks.max() - yTicks.min();
        return bottom - (span == 0 ? 0.5 : (value - yTicks.min()) / span) * (bottom - top);
    }
}
