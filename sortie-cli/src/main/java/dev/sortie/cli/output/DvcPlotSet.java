package dev.sortie.cli.output;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import dev.sortie.core.dvc.DvcPlot;
import dev.sortie.core.dvc.DvcPlotData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DVC's plots of some experiments, as {@code sortie plots} draws them beside the metric charts: curves (ROC,
 * precision-recall, any x/y plot) as charts with one line per experiment, a confusion matrix per experiment as a
 * heatmap table, images as they are.
 */
public record DvcPlotSet(List<Chart> curves, List<Matrix> matrices, List<Image> images, List<String> problems) {
    public DvcPlotSet {
        curves = List.copyOf(curves);
        matrices = List.copyOf(matrices);
        images = List.copyOf(images);
        problems = List.copyOf(problems);
    }

    /** A plot file of an experiment, with how to draw it; {@code color} is the experiment's line colour. */
    public record Loaded(String experiment, int color, DvcPlot plot, byte[] content) {
    }

    public record Matrix(String title, String experiment, DvcPlotData.Confusion confusion) {
    }

    public record Image(String title, String experiment, String path, String type, byte[] bytes) {
    }

    public boolean isEmpty() {
        return curves.isEmpty() && matrices.isEmpty() && images.isEmpty();
    }

    /** The plots of {@code loaded}: a file that cannot be read is a problem named, not a stop. */
    public static DvcPlotSet of(List<Loaded> loaded) {
        Map<String, List<Series>> lines = new LinkedHashMap<>();
        Map<String, List<String>> sourcesOf = new LinkedHashMap<>();
        Map<String, String> xs = new LinkedHashMap<>();
        List<Matrix> matrices = new ArrayList<>();
        List<Image> images = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Loaded l : loaded) {
            DvcPlot p = l.plot();
            switch (p.kind()) {
                case IMAGE -> images.add(new Image(p.title(), l.experiment(), p.path(), p.imageType(), l.content()));
                case CONFUSION -> {
                    try {
                        matrices.add(new Matrix(p.title(), l.experiment(), DvcPlotData.confusion(p, DvcPlotData.rows(p.path(), l.content()))));
                    } catch (IOException | RuntimeException e) {
                        problems.add(l.experiment() + ": " + p.path() + ": " + e.getMessage());
                    }
                }
                default -> {
                    try {
                        List<DvcPlotData.Line> ls = DvcPlotData.curve(p, DvcPlotData.rows(p.path(), l.content()));
                        for (DvcPlotData.Line line : ls) {
                            // a file's own chart names the field it draws; a named plot (dvclive's ROC, an id of dvc.yaml) its title
                            String title = p.title().equals(p.path()) || ls.size() > 1 ? p.title() + " · " + line.field() : p.title();
                            lines.computeIfAbsent(title, k -> new ArrayList<>()).add(Series.decimal(l.experiment(), l.color(), line.x(), line.y()));
                            sourcesOf.computeIfAbsent(title, k -> new ArrayList<>()).add(p.path() + ": " + line.field());
                            xs.putIfAbsent(title, p.x() == null ? PlotsModel.STEP : p.x());
                        }
                    } catch (IOException | RuntimeException e) {
                        problems.add(l.experiment() + ": " + p.path() + ": " + e.getMessage());
                    }
                }
            }
        }
        List<Chart> curves = new ArrayList<>();
        lines.forEach((title, series) -> {
            // a plot of several files (an id whose y names two) has an experiment's line per file: the legend says which
            List<String> names = series.stream().map(Series::name).toList();
            boolean several = names.stream().distinct().count() < names.size();
            List<Series> named = new ArrayList<>();
            for (int i = 0; i < series.size(); i++) {
                Series s = series.get(i);
                named.add(several ? new Series(s.name() + " · " + sourcesOf.get(title).get(i), s.color(), s.steps(), s.values(), s.x()) : s);
            }
            curves.add(new Chart(title, named, xs.get(title)));
        });
        return new DvcPlotSet(curves, matrices, images, problems);
    }

    /** The confusion matrices and images as HTML (XHTML syntax, as {@link PlotsSvg} writes): self-contained, images inline. */
    public String html() {
        StringBuilder sb = new StringBuilder();
        for (Matrix m : matrices) {
            DvcPlotData.Confusion c = m.confusion();
            long max = 1;
            for (long[] row : c.counts()) {
                for (long v : row) {
                    max = Math.max(max, v);
                }
            }
            sb.append("<div class=\"dvc confusion\"><h2>").append(PlotsSvg.esc(m.title())).append(" · ")
                    .append(PlotsSvg.esc(m.experiment())).append("</h2>\n<table class=\"confusion\">\n<tr><th>")
                    .append(PlotsSvg.esc(c.actual())).append(" \\ ").append(PlotsSvg.esc(c.predicted())).append("</th>");
            for (String label : c.labels()) {
                sb.append("<th>").append(PlotsSvg.esc(label)).append("</th>");
            }
            sb.append("</tr>\n");
            for (int a = 0; a < c.labels().size(); a++) {
                sb.append("<tr><th>").append(PlotsSvg.esc(c.labels().get(a))).append("</th>");
                for (int p = 0; p < c.labels().size(); p++) {
                    long v = c.counts()[a][p];
                    // darker for more rows: the share of the largest cell, as DVC's confusion template shades it
                    double share = (double) v / max;
                    int light = (int) Math.round(255 - share * 180);
                    sb.append("<td class=\"num\" style=\"background:rgb(").append(light).append(',').append(light).append(",255)")
                            .append(share > 0.6 ? ";color:#fff" : "").append("\">").append(v).append("</td>");
                }
                sb.append("</tr>\n");
            }
            sb.append("</table></div>\n");
        }
        for (Image i : images) {
            sb.append("<div class=\"dvc image\"><h2>").append(PlotsSvg.esc(i.title())).append(" · ").append(PlotsSvg.esc(i.experiment()))
                    .append("</h2>\n<img alt=\"").append(PlotsSvg.esc(i.path())).append("\" src=\"data:").append(i.type())
                    .append(";base64,").append(Base64.getEncoder().encodeToString(i.bytes())).append("\"/></div>\n");
        }
        return sb.toString();
    }
}
