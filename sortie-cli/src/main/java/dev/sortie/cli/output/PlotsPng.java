package dev.sortie.cli.output;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Charts drawn with Java2D into one PNG, stacked vertically, in the same layout as {@link PlotsSvg}. Runs headless.
 * Where the JDK cannot draw text (a server without fonts) the charts are drawn without their labels rather than
 * not at all.
 */
public final class PlotsPng {
    private static final System.Logger LOG = System.getLogger(PlotsPng.class.getName());
    /** The default width of the image, in pixels. */
    public static final int WIDTH = 1000;
    /** The default height of a chart's plot area, in pixels. */
    public static final int PLOT_HEIGHT = 300;
    /** Images taller than this are refused (about 128 MB of pixels at the default width). */
    static final int MAX_HEIGHT = 32_000;

    private PlotsPng() {
    }

    /** The charts as one image {@code width} pixels wide. */
    public static BufferedImage render(List<Chart> charts, int width, int plotHeight) {
        System.setProperty("java.awt.headless", "true");
        List<PlotsLayout> layouts = new ArrayList<>();
        int height = 0;
        for (Chart c : charts) {
            PlotsLayout l = PlotsLayout.of(c, width, plotHeight);
            layouts.add(l);
            height += l.height();
        }
        if (layouts.isEmpty()) {
            throw new IllegalArgumentException("no charts to draw");
        }
        if (height > MAX_HEIGHT) {
            throw new IllegalArgumentException("a PNG of " + charts.size() + " charts would be " + height
                    + " pixels high; pick fewer with --metric, or write HTML");
        }
        int w = layouts.get(0).width();
        BufferedImage img = new BufferedImage(w, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, height);
            Text text = new Text(g);
            int y = 0;
            for (PlotsLayout l : layouts) {
                Graphics2D cg = (Graphics2D) g.create();
                try {
                    cg.translate(0, y);
                    draw(cg, l, new Text(cg, text));
                } finally {
                    cg.dispose();
                }
                y += l.height();
                if (y < height) {
                    g.setColor(new Color(0xdddddd));
                    g.drawLine(0, y - 1, w, y - 1);
                }
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    /** Writes the charts as a PNG file. */
    public static void write(List<Chart> charts, int width, int plotHeight, Path file) throws IOException {
        BufferedImage img = render(charts, width, plotHeight);
        try (OutputStream out = Files.newOutputStream(file)) {
            if (!ImageIO.write(img, "png", out)) {
                throw new IOException("the JDK has no PNG writer");
            }
        }
    }

    private static void draw(Graphics2D g, PlotsLayout l, Text text) {
        Chart c = l.chart();
        text.draw(c.metric(), l.width() / 2.0, 20, 0.5, new Font(Font.SANS_SERIF, Font.BOLD, 15), new Color(0x222222));

        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, PlotsLayout.FONT_SIZE);
        Color label = new Color(0x333333);
        for (PlotsLayout.LegendItem it : l.legend()) {
            g.setColor(new Color(PlotsModel.color(it.series().color())));
            g.fill(new Rectangle2D.Double(it.x(), it.y() - 6, 16, 3));
            text.draw(it.series().name(), it.x() + 22, it.y(), 0, small, label);
        }

        g.setStroke(new BasicStroke(1f));
        Color grid = new Color(0xe6e6e6);
        List<Double> yv = l.yTicks().values();
        for (int i = 0; i < yv.size(); i++) {
            double y = l.py(yv.get(i));
            g.setColor(grid);
            g.draw(new Line2D.Double(l.left(), y, l.right(), y));
            text.draw(l.yTicks().labels().get(i), l.left() - 6, y + 4, 1, small, label);
        }
        List<Double> xv = l.xTicks().values();
        for (int i = 0; i < xv.size(); i++) {
            double x = l.px(xv.get(i));
            g.setColor(grid);
            g.draw(new Line2D.Double(x, l.top(), x, l.bottom()));
            text.draw(l.xTicks().labels().get(i), x, l.bottom() + 16, 0.5, small, label);
        }
        g.setColor(new Color(0x999999));
        g.draw(new Rectangle2D.Double(l.left(), l.top(), l.right() - l.left(), l.bottom() - l.top()));
        text.draw(l.chart().x(), l.right(), l.bottom() + 32, 1, small, label);
        if (!c.hasData()) {
            text.draw("no finite values", (l.left() + l.right()) / 2, (l.top() + l.bottom()) / 2, 0.5,
                    new Font(Font.SANS_SERIF, Font.PLAIN, 14), new Color(0x999999));
        }

        Graphics2D pg = (Graphics2D) g.create();
        try {
            pg.clip(new Rectangle2D.Double(l.left() - 4, l.top() - 4, l.right() - l.left() + 8, l.bottom() - l.top() + 8));
            pg.setStroke(new BasicStroke(1.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            int maxPoints = Math.max(PlotsModel.MAX_SVG_POINTS, (int) (4 * (l.right() - l.left())));
            for (Series full : c.series()) {
                if (full.isEmpty()) {
                    continue;
                }
                Series s = PlotsModel.downsample(full, maxPoints);
                pg.setColor(new Color(PlotsModel.color(s.color())));
                Path2D.Double path = new Path2D.Double();
                for (int i = 0; i < s.size(); i++) {
                    double x = l.px(s.x()[i]);
                    double y = l.py(s.values()[i]);
                    if (i == 0) {
                        path.moveTo(x, y);
                    } else {
                        path.lineTo(x, y);
                    }
                }
                pg.draw(path);
                if (full.size() <= PlotsSvg.VISIBLE_MARKERS) {
                    for (int i = 0; i < s.size(); i++) {
                        pg.fill(new Ellipse2D.Double(l.px(s.x()[i]) - 2.5, l.py(s.values()[i]) - 2.5, 5, 5));
                    }
                }
            }
        } finally {
            pg.dispose();
        }
    }

    /** Draws text, or nothing once the JDK has failed to (no fonts); the failure is shared by all charts. */
    private static final class Text {
        private final Graphics2D g;
        private final boolean[] broken;

        Text(Graphics2D g) {
            this.g = g;
            this.broken = new boolean[1];
        }

        Text(Graphics2D g, Text shared) {
            this.g = g;
            this.broken = shared.broken;
        }

        /** {@code anchor}: 0 the text starts at x, 0.5 it is centred on x, 1 it ends at x. */
        void draw(String s, double x, double baseline, double anchor, Font font, Color color) {
            if (broken[0] || s.isEmpty()) {
                return;
            }
            try {
                g.setFont(font);
                g.setColor(color);
                FontMetrics fm = g.getFontMetrics();
                double w = fm.stringWidth(s);
                g.drawString(s, (float) (x - anchor * w), (float) baseline);
            } catch (RuntimeException | LinkageError | InternalError e) {
                LOG.log(System.Logger.Level.DEBUG, "text cannot be drawn into the PNG (no fonts?); drawn without it: {0}", e);
                broken[0] = true;
            }
        }
    }
}
