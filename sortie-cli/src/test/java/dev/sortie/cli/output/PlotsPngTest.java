package dev.sortie.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsPngTest {
    @TempDir
    Path dir;

    private static Series series(String name, int color, int n, double scale) {
        long[] steps = new long[n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            steps[i] = i;
            values[i] = i == n / 2 ? Double.NaN : scale * Math.exp(-i / (double) n);
        }
        return Series.of(name, color, steps, values);
    }

    @Test
    void writesAPngOfTheChartsStacked() throws Exception {
        List<Chart> charts = List.of(
                new Chart("loss", List.of(series("fast", 0, 5000, 1), series("slow", 1, 300, 2))),
                new Chart("acc", List.of(series("fast", 0, 40, 1))));
        Path file = dir.resolve("plots.png");
        PlotsPng.write(charts, 800, 250, file);

        assertThat(Files.size(file)).isGreaterThan(1000);
        BufferedImage img = ImageIO.read(file.toFile());
        assertThat(img).isNotNull();
        assertThat(img.getWidth()).isEqualTo(800);
        int expected = charts.stream().mapToInt(c -> PlotsLayout.of(c, 800, 250).height()).sum();
        assertThat(img.getHeight()).isEqualTo(expected);

        // not blank: white background, and the colours of both lines appear in the first chart
        Set<Integer> colours = new HashSet<>();
        int nonWhite = 0;
        int firstHeight = PlotsLayout.of(charts.get(0), 800, 250).height();
        for (int y = 0; y < firstHeight; y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) {
                    nonWhite++;
                }
            }
        }
        assertThat(img.getRGB(2, 2) & 0xffffff).isEqualTo(0xffffff);
        assertThat(nonWhite).isGreaterThan(2000);
        assertThat(colours).contains(PlotsModel.color(0), PlotsModel.color(1));
        // the second chart is drawn too
        boolean secondDrawn = false;
        for (int y = firstHeight + 40; y < img.getHeight() && !secondDrawn; y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xffffff) == PlotsModel.color(0)) {
                    secondDrawn = true;
                    break;
                }
            }
        }
        assertThat(secondDrawn).isTrue();
    }

    @Test
    void drawsEmptyAndSinglePointCharts() {
        List<Chart> charts = List.of(
                new Chart("empty", List.of(Series.of("a", 0, new long[] {0}, new double[] {Double.NaN}))),
                new Chart("one", List.of(Series.of("a", 0, new long[] {7}, new double[] {3.5}))));
        BufferedImage img = PlotsPng.render(charts, 600, 200);
        assertThat(img.getWidth()).isEqualTo(600);
        PlotsLayout first = PlotsLayout.of(charts.get(0), 600, 200);
        PlotsLayout second = PlotsLayout.of(charts.get(1), 600, 200);
        assertThat(img.getHeight()).isEqualTo(first.height() + second.height());
        // the single point is drawn as a dot inside the plot area (not just the legend's swatch)
        boolean dot = false;
        for (int y = first.height() + (int) second.top() + 1; y < first.height() + second.bottom() && !dot; y++) {
            for (int x = (int) second.left() + 1; x < second.right(); x++) {
                if ((img.getRGB(x, y) & 0xffffff) == PlotsModel.color(0)) {
                    dot = true;
                    break;
                }
            }
        }
        assertThat(dot).isTrue();
    }

    @Test
    void refusesAbsurdlyTallImages() {
        List<Chart> charts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            charts.add(new Chart("m" + i, List.of(series("a", 0, 10, 1))));
        }
        assertThatThrownBy(() -> PlotsPng.render(charts, 1000, 300))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--metric");
    }
}
