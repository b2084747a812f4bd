package dev.sortie.cli.output;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Charts as inline SVG in one self-contained HTML page: no scripts, no fonts or files from elsewhere. The page is
 * well-formed XML (XHTML syntax), so tools can parse it. Hovering a line names its experiment; hovering a point
 * shows the experiment, step and value (SVG {@code <title>}, which browsers show as a tooltip).
 */
public final class PlotsSvg {
    /** The default width of a chart, in pixels. */
    public static final int WIDTH = 960;
    /** The default height of a chart's plot area, in pixels. */
    public static final int PLOT_HEIGHT = 300;
    /** Hover points per line at most (chosen evenly, plus the lowest and the highest), to keep the file small. */
    static final int MAX_MARKERS = 500;
    /** Lines with at most this many points show their points; longer ones show them on hover only. */
    static final int VISIBLE_MARKERS = 60;

    private static final String STYLE = String.join("\n",
            "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fafafa}",
            "h1{font-size:20px;margin:0 0 4px}",
            "p.meta{color:#666;margin:0 0 16px;font-size:13px}",
            "div.chart{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 16px;padding:4px;display:inline-block}",
            "svg text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px;fill:#333}",
            "svg text.title{font-size:15px;font-weight:600}",
            "svg text.empty{fill:#999;font-size:14px}",
            "svg line.grid{stroke:#e6e6e6;stroke-width:1}",
            "svg rect.frame{fill:none;stroke:#999;stroke-width:1}",
            "svg polyline{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}",
            "svg g.series:hover polyline{stroke-width:3}",
            "svg circle.pt{fill-opacity:0;stroke:none}",
            "svg circle.pt:hover{fill-opacity:1}",
            "svg g.few circle.pt{fill-opacity:1}",
            "table.values{border-collapse:collapse;background:#fff;border:1px solid #ddd;margin:0 0 16px;font-size:13px}",
            "table.values th,table.values td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}",
            "table.values td.num{text-align:right;font-variant-numeric:tabular-nums}",
            "div.dvc{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 16px 16px 0;padding:8px;display:inline-block;vertical-align:top}",
            "div.dvc h2{font-size:15px;margin:0 0 8px}",
            "div.dvc img{display:block;max-width:900px;min-width:64px}",
            "table.confusion{border-collapse:collapse;font-size:13px}",
            "table.confusion th,table.confusion td{padding:6px 10px;border:1px solid #ddd}",
            "table.confusion td.num{text-align:right;font-variant-numeric:tabular-nums;min-width:3em}");

    private PlotsSvg() {
    }

    /** A whole HTML page with one SVG chart per element of {@code charts}, under {@code heading}. */
    public static String html(String heading, String subheading, List<Chart> charts) {
        return html(heading, subheading, charts, List.of());
    }

    /**
     * As {@link #html(String, String, List)}, with the single-value metrics in a table above the charts: one row per
     * metric, one column per experiment.
     */
    public static String html(String heading, String subheading, List<Chart> charts, List<PlotsModel.Value> values) {
        return html(heading, subheading, charts, values, "");
    }

    /** As {@link #html(String, String, List, List)}, with {@code appendix} (well-formed XHTML: DVC's matrices and images) after the charts. */
    public static String html(String heading, String subheading, List<Chart> charts, List<PlotsModel.Value> values, String appendix) {
        StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n");
        sb.append("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        sb.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
        sb.append("<title>").append(esc(heading)).append("</title>\n");
        sb.append("<style>\n").append(STYLE).append("\n</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(esc(heading)).append("</h1>\n");
        if (subheading != null && !subheading.isEmpty()) {
            sb.append("<p class=\"meta\">").append(esc(subheading)).append("</p>\n");
        }
        if (!values.isEmpty()) {
            List<String> exps = new ArrayList<>();
            for (PlotsModel.Value v : values) {
                for (String e : v.experiments()) {
                    if (!exps.contains(e)) {
                        exps.add(e);
                    }
                }
            }
            sb.append("<table class=\"values\">\n<tr><th>metric</th>");
            for (String e : exps) {
                sb.append("<th>").append(esc(e)).append("</th>");
            }
            sb.append("</tr>\n");
            for (PlotsModel.Value v : values) {
                sb.append("<tr><td>").append(esc(v.metric())).append("</td>");
                for (String e : exps) {
                    int at = v.experiments().indexOf(e);
                    Double d = at < 0 ? null : v.values().get(at);
                    sb.append("<td class=\"num\">").append(d == null ? "" : esc(PlotsModel.formatValue(d))).append("</td>");
                }
                sb.append("</tr>\n");
            }
            sb.append("</table>\n");
        }
        int i = 0;
        for (Chart c : charts) {
            sb.append("<div class=\"chart\" id=\"chart-").append(i++).append("\">\n");
            svg(sb, PlotsLayout.of(c, WIDTH, PLOT_HEIGHT));
            sb.append("</div>\n");
        }
        sb.append(appendix);
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    /** One chart as a standalone SVG element. */
    public static String svg(Chart chart, int width, int plotHeight) {
        StringBuilder sb = new StringBuilder();
        svg(sb, PlotsLayout.of(chart, width, plotHeight));
        return sb.toString();
    }

    private static void svg(StringBuilder sb, PlotsLayout l) {
        Chart c = l.chart();
        int w = l.width();
        int h = l.height();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" viewBox=\"0 0 ").append(w).append(' ').append(h).append("\" role=\"img\" aria-label=\"")
                .append(esc(c.metric())).append("\">\n");
        sb.append("<title>").append(esc(c.metric())).append("</title>\n");
        sb.append("<rect x=\"0\" y=\"0\" width=\"").append(w).append("\" height=\"").append(h).append("\" fill=\"#ffffff\"/>\n");
        sb.append("<text class=\"title\" x=\"").append(num(w / 2.0)).append("\" y=\"20\" text-anchor=\"middle\">")
                .append(esc(c.metric())).append("</text>\n");

        // legend
        sb.append("<g class=\"legend\">\n");
        for (PlotsLayout.LegendItem it : l.legend()) {
            String color = PlotsModel.hex(PlotsModel.color(it.series().color()));
            sb.append("<g><title>").append(esc(it.series().name())).append(" (").append(it.series().size())
                    .append(it.series().size() == 1 ? " point" : " points").append(")</title>");
            sb.append("<rect x=\"").append(num(it.x())).append("\" y=\"").append(num(it.y() - 6)).append("\" width=\"16\" height=\"3\" fill=\"")
                    .append(color).append("\"/>");
            sb.append("<text x=\"").append(num(it.x() + 22)).append("\" y=\"").append(num(it.y())).append("\">")
                    .append(esc(it.series().name())).append("</text></g>\n");
        }
        sb.append("</g>\n");

        // grid and ticks
        sb.append("<g class=\"axes\">\n");
        List<Double> yv = l.yTicks().values();
        for (int i = 0; i < yv.size(); i++) {
            double y = l.py(yv.get(i));
            sb.append("<line class=\"grid\" x1=\"").append(num(l.left())).append("\" x2=\"").append(num(l.right()))
                    .append("\" y1=\"").append(num(y)).append("\" y2=\"").append(num(y)).append("\"/>");
            sb.append("<text class=\"ytick\" x=\"").append(num(l.left() - 6)).append("\" y=\"").append(num(y + 4))
                    .append("\" text-anchor=\"end\">").append(esc(l.yTicks().labels().get(i))).append("</text>\n");
        }
        List<Double> xv = l.xTicks().values();
        for (int i = 0; i < xv.size(); i++) {
            double x = l.px(xv.get(i));
            sb.append("<line class=\"grid\" x1=\"").append(num(x)).append("\" x2=\"").append(num(x))
                    .append("\" y1=\"").append(num(l.top())).append("\" y2=\"").append(num(l.bottom())).append("\"/>");
            sb.append("<text class=\"xtick\" x=\"").append(num(x)).append("\" y=\"").append(num(l.bottom() + 16))
                    .append("\" text-anchor=\"middle\">").append(esc(l.xTicks().labels().get(i))).append("</text>\n");
        }
        sb.append("<rect class=\"frame\" x=\"").append(num(l.left())).append("\" y=\"").append(num(l.top()))
                .append("\" width=\"").append(num(l.right() - l.left())).append("\" height=\"").append(num(l.bottom() - l.top()))
                .append("\"/>\n");
        sb.append("<text class=\"xlabel\" x=\"").append(num(l.right())).append("\" y=\"").append(num(l.bottom() + 32))
                .append("\" text-anchor=\"end\">").append(esc(c.x())).append("</text>\n");
        sb.append("</g>\n");

        if (!c.hasData()) {
            sb.append("<text class=\"empty\" x=\"").append(num((l.left() + l.right()) / 2)).append("\" y=\"")
                    .append(num((l.top() + l.bottom()) / 2)).append("\" text-anchor=\"middle\">no finite values</text>\n");
        }

        // lines
        for (Series full : c.series()) {
            if (full.isEmpty()) {
                continue;
            }
            Series s = PlotsModel.downsample(full, PlotsModel.MAX_SVG_POINTS);
            String color = PlotsModel.hex(PlotsModel.color(s.color()));
            boolean few = full.size() <= VISIBLE_MARKERS;
            sb.append("<g class=\"series").append(few ? " few" : "").append("\" data-name=\"").append(esc(s.name()))
                    .append("\" fill=\"").append(color).append("\" stroke=\"").append(color).append("\">\n");
            sb.append("<title>").append(esc(s.name())).append("</title>\n");
            sb.append("<polyline fill=\"none\" stroke-width=\"1.6\" points=\"");
            for (int i = 0; i < s.size(); i++) {
                if (i > 0) {
                    sb.append(' ');
                }
                sb.append(num(l.px(s.x()[i]))).append(',').append(num(l.py(s.values()[i])));
            }
            sb.append("\"/>\n");
            for (int i : markers(s)) {
                sb.append("<circle class=\"pt\"").append(few ? "" : " fill-opacity=\"0\"").append(" cx=\"").append(num(l.px(s.x()[i]))).append("\" cy=\"")
                        .append(num(l.py(s.values()[i]))).append("\" r=\"3\"><title>").append(esc(s.name()))
                        .append(" · ").append(esc(c.x())).append(' ').append(PlotsModel.formatValue(s.x()[i])).append(": ").append(esc(c.metric())).append(" = ")
                        .append(PlotsModel.formatValue(s.values()[i])).append("</title></circle>\n");
            }
            sb.append("</g>\n");
        }
        sb.append("</svg>\n");
    }

    /** The indices of {@code s} that get a hover point: all, or an even selection plus the extremes. */
    static List<Integer> markers(Series s) {
        int n = s.size();
        List<Integer> out = new ArrayList<>();
        if (n <= MAX_MARKERS) {
            for (int i = 0; i < n; i++) {
                out.add(i);
            }
            return out;
        }
        int min = 0;
        int max = 0;
        for (int i = 1; i < n; i++) {
            if (s.values()[i] < s.values()[min]) {
                min = i;
            }
            if (s.values()[i] > s.values()[max]) {
                max = i;
            }
        }
        int k = MAX_MARKERS - 2;
        int prev = -1;
        for (int j = 0; j < k; j++) {
            int i = (int) Math.round((double) j * (n - 1) / (k - 1));
            if (i != prev) {
                if (prev < min && min < i) {
                    out.add(min);
                }
                if (prev < max && max < i && max != min) {
                    out.add(max);
                }
                out.add(i);
                prev = i;
            }
        }
        return out;
    }

    private static String num(double v) {
        double r = Math.round(v * 10) / 10.0;
        if (r == Math.rint(r)) {
            return Long.toString((long) r);
        }
        return String.format(Locale.ROOT, "%.1f", r);
    }

    /** Text for XML content and attribute values. Control characters other than tab and newline are dropped. */
    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    if (ch >= 0x20 || ch == '\t' || ch == '\n') {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.toString();
    }
}
