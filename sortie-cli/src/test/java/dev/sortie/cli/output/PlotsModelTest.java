package dev.sortie.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import dev.sortie.cli.output.PlotsModel.Source;
import dev.sortie.cli.output.PlotsModel.Ticks;
import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlotsModelTest {
    @Test
    void ticksAreRoundNumbersCoveringTheRange() {
        Ticks t = PlotsModel.ticks(0.03, 0.97, 6, false);
        assertThat(t.values()).containsExactly(0.0, 0.2, 0.4, 0.6, 0.8, 1.0);
        assertThat(t.labels()).containsExactly("0.0", "0.2", "0.4", "0.6", "0.8", "1.0");
        assertThat(t.min()).isEqualTo(0.0);
        assertThat(t.max()).isEqualTo(1.0);

        Ticks big = PlotsModel.ticks(13, 987, 6, false);
        assertThat(big.values()).containsExactly(0.0, 200.0, 400.0, 600.0, 800.0, 1000.0);
        assertThat(big.labels()).containsExactly("0", "200", "400", "600", "800", "1000");

        Ticks neg = PlotsModel.ticks(-2.7, 3.1, 6, false);
        assertThat(neg.values()).containsExactly(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0);
        assertThat(neg.labels()).contains("0").doesNotContain("-0");
    }

    @Test
    void ticksHaveNoFloatingPointNoise() {
        Ticks t = PlotsModel.ticks(0.1, 0.7, 7, false);
        for (int i = 0; i < t.values().size(); i++) {
            assertThat(t.labels().get(i)).matches("-?\\d+(\\.\\d)?");
            assertThat(Double.toString(t.values().get(i))).hasSizeLessThan(6);
        }
        Ticks small = PlotsModel.ticks(0.00012, 0.00047, 5, false);
        assertThat(small.labels()).allMatch(l -> l.length() <= 8);
        assertThat(small.min()).isLessThanOrEqualTo(0.00012);
        assertThat(small.max()).isGreaterThanOrEqualTo(0.00047);
        assertThat(small.spacing()).isEqualTo(0.0001, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void hugeAndTinyValuesGetScientificLabels() {
        Ticks huge = PlotsModel.ticks(1.2e9, 4.8e9, 5, false);
        assertThat(huge.labels()).contains("2e9", "4e9");
        Ticks tiny = PlotsModel.ticks(1.1e-7, 3.9e-7, 4, false);
        assertThat(tiny.labels()).allMatch(l -> l.equals("0") || l.contains("e-"));
        assertThat(new HashSet<>(tiny.labels())).hasSize(tiny.labels().size());
    }

    @Test
    void emptyRangeIsWidenedAndStepTicksAreWholeNumbers() {
        Ticks one = PlotsModel.ticks(5, 5, 6, true);
        assertThat(one.min()).isLessThan(5);
        assertThat(one.max()).isGreaterThan(5);
        assertThat(one.values()).allMatch(v -> v == Math.rint(v));

        Ticks steps = PlotsModel.ticks(0, 3, 10, true);
        assertThat(steps.values()).containsExactly(0.0, 1.0, 2.0, 3.0);
        assertThat(steps.labels()).containsExactly("0", "1", "2", "3");

        Ticks zero = PlotsModel.ticks(0, 0, 6, false);
        assertThat(zero.min()).isLessThan(0);
        assertThat(zero.max()).isGreaterThan(0);

        Ticks steps2 = PlotsModel.ticks(0, 99_999, 6, true);
        assertThat(steps2.values()).containsExactly(0.0, 20_000.0, 40_000.0, 60_000.0, 80_000.0, 100_000.0);
    }

    @Test
    void nonFiniteValuesAreDroppedAndPointsSortedByStep() {
        Series s = Series.of("a", 0, new long[] {3, 1, 2, 0, 4}, new double[] {3, 1, Double.NaN, 0, Double.POSITIVE_INFINITY});
        assertThat(s.steps()).containsExactly(0, 1, 3);
        assertThat(s.values()).containsExactly(0, 1, 3);
    }

    @Test
    void downsamplingKeepsSpikesEndsAndOrder() {
        int n = 100_000;
        long[] steps = new long[n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            steps[i] = i;
            values[i] = Math.sin(i / 1000.0);
        }
        values[54_321] = 50; // a spike
        values[77_777] = -40; // a dip
        Series s = new Series("a", 0, steps, values);
        Series d = PlotsModel.downsample(s, 2000);
        assertThat(d.size()).isLessThanOrEqualTo(2000).isGreaterThan(1500);
        assertThat(d.steps()[0]).isZero();
        assertThat(d.steps()[d.size() - 1]).isEqualTo(n - 1);
        assertThat(d.values()).contains(50.0, -40.0);
        for (int i = 1; i < d.size(); i++) {
            assertThat(d.steps()[i]).isGreaterThan(d.steps()[i - 1]);
        }
        // a series that fits comes back unchanged
        Series small = new Series("b", 1, new long[] {0, 1, 2}, new double[] {1, 2, 3});
        assertThat(PlotsModel.downsample(small, 2000)).isSameAs(small);
    }

    @Test
    void chartsPerMetricWithStableColoursAndUnknownMetricsNamed() {
        Source a = source("exp-a", Map.of("loss", List.of(1.0, 0.5, 0.25), "acc", List.of(0.5, 0.7)));
        Source b = source("exp-b", Map.of("loss", List.of(2.0, 1.0)));
        List<Chart> all = PlotsModel.charts(List.of(a, b), null);
        assertThat(all).extracting(Chart::metric).containsExactly("acc", "loss");
        Chart acc = all.get(0);
        assertThat(acc.series()).extracting(Series::name).containsExactly("exp-a");
        Chart loss = all.get(1);
        assertThat(loss.series()).extracting(Series::name).containsExactly("exp-a", "exp-b");
        assertThat(loss.series()).extracting(Series::color).containsExactly(0, 1);
        assertThat(loss.points()).isEqualTo(5);

        List<Chart> picked = PlotsModel.charts(List.of(a, b), List.of("loss", "loss"));
        assertThat(picked).extracting(Chart::metric).containsExactly("loss");

        assertThatThrownBy(() -> PlotsModel.charts(List.of(a, b), List.of("los", "f1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'los'").hasMessageContaining("'f1'")
                .hasMessageContaining("acc, loss");
    }

    @Test
    void coloursAreDistinct() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            seen.add(PlotsModel.color(i));
        }
        assertThat(seen).hasSize(30);
        assertThat(PlotsModel.hex(PlotsModel.color(0))).isEqualTo("#1f77b4");
    }

    @Test
    void valuesFormatCompactly() {
        assertThat(PlotsModel.formatValue(3)).isEqualTo("3");
        assertThat(PlotsModel.formatValue(0.123456789)).isEqualTo("0.123457");
        assertThat(PlotsModel.formatValue(0.5)).isEqualTo("0.5");
        assertThat(PlotsModel.formatValue(1.5e-9)).isEqualTo("1.5e-9");
        assertThat(PlotsModel.formatValue(-2.25e12)).isEqualTo("-2250000000000");
        assertThat(PlotsModel.formatValue(2.5e20)).isEqualTo("2.5e20");
    }

    @Test
    void systemMetricsAreDrawnAgainstSecondsAndSingleValuesAreValuesNotCharts() {
        Instant start = Instant.parse("2026-01-01T10:00:00Z");
        // the sampler's points: no step of their own (all 0), five seconds apart, from two seconds after the start
        List<MetricPoint> cpu = List.of(new MetricPoint("sys/cpu_percent", 0, 10, start.plusSeconds(2)),
                new MetricPoint("sys/cpu_percent", 0, 80, start.plusSeconds(7)), new MetricPoint("sys/cpu_percent", 0, 75, start.plusSeconds(12)));
        Map<String, List<MetricPoint>> a = Map.of("sys/cpu_percent", cpu,
                "loss", List.of(new MetricPoint("loss", 0, 1, start), new MetricPoint("loss", 1, 0.5, start)),
                "auc", List.of(new MetricPoint("auc", 0, 0.91, start.plusSeconds(20))));
        Map<String, List<MetricPoint>> b = Map.of("auc", List.of(new MetricPoint("auc", 0, 0.87, start)));
        Source sa = new Source("exp-a", a.keySet(), a::get, start);
        Source sb = new Source("exp-b", b.keySet(), b::get, start);

        PlotsModel.Plots plots = PlotsModel.plots(List.of(sa, sb), null);
        assertThat(plots.charts()).extracting(Chart::metric).containsExactly("loss", "sys/cpu_percent");
        Chart sys = plots.charts().get(1);
        assertThat(sys.x()).isEqualTo(PlotsModel.SECONDS);
        assertThat(sys.series().get(0).steps()).containsExactly(2, 7, 12);
        assertThat(plots.charts().get(0).x()).isEqualTo(PlotsModel.STEP);
        assertThat(plots.values()).singleElement().satisfies(v -> {
            assertThat(v.metric()).isEqualTo("auc");
            assertThat(v.experiments()).containsExactly("exp-a", "exp-b");
            assertThat(v.values()).containsExactly(0.91, 0.87);
        });
        assertThat(PlotsModel.charts(List.of(sa, sb), List.of("auc"))).isEmpty();

        String html = PlotsSvg.html("h", "s", plots.charts(), plots.values());
        assertThat(html).contains("<table class=\"values\">").contains("<td>auc</td>").contains("0.91").contains("0.87")
                .contains(">seconds</text>").doesNotContain("<title>auc</title>");
    }

    static Source source(String name, Map<String, List<Double>> metrics) {
        return new Source(name, metrics.keySet(), key -> {
            List<MetricPoint> out = new ArrayList<>();
            List<Double> v = metrics.get(key);
            for (int i = 0; i < v.size(); i++) {
                out.add(new MetricPoint(key, i, v.get(i), Instant.EPOCH));
            }
            return out;
        });
    }
}
