package dev.sortie.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

class DownsampleTest {
    @Test
    void severalSeriesAreCutOntoOneGridOfStepsEachKeepingItsSpikesAndDips() {
        // 3 series of different lengths and steps: 10,000 steps with a spike and a dip, 500 every 20th step, 3 points
        List<List<MetricPoint>> series = new ArrayList<>();
        List<MetricPoint> a = new ArrayList<>();
        for (int step = 0; step < 10_000; step++) {
            a.add(new MetricPoint("loss", step, step == 4321 ? 50 : step == 7777 ? -40 : Math.sin(step / 500.0), Instant.EPOCH));
        }
        List<MetricPoint> b = new ArrayList<>();
        for (int step = 0; step < 10_000; step += 20) {
            b.add(new MetricPoint("loss", step, step == 2000 ? 9 : 1, Instant.EPOCH));
        }
        series.add(a);
        series.add(b);
        series.add(List.of(new MetricPoint("loss", 10, 3, Instant.EPOCH), new MetricPoint("loss", 5000, 2, Instant.EPOCH),
                new MetricPoint("loss", 9990, 1, Instant.EPOCH)));
        series.add(List.of());

        Downsample.Aligned cut = Downsample.aligned(series, 100);

        assertThat(cut.steps()).hasSize(200).isSorted();
        assertThat(cut.steps()[0]).isEqualTo(0);
        assertThat(cut.steps()[199]).isLessThan(9_999);
        assertThat(cut.values()).hasSize(4).allSatisfy(v -> assertThat(v).hasSize(200));
        List<Double> first = java.util.Arrays.stream(cut.values().get(0)).filter(java.util.Objects::nonNull).toList();
        assertThat(first).hasSize(200).contains(50.0, -40.0);
        assertThat(java.util.Arrays.asList(cut.values().get(1))).contains(9.0);
        assertThat(java.util.Arrays.stream(cut.values().get(2)).filter(java.util.Objects::nonNull).toList()).containsExactly(3.0, 2.0, 1.0);
        assertThat(cut.values().get(3)).containsOnlyNulls();
        // within a bucket the two extremes come in the order they were logged: the dip at 7777 after the bucket's high
        int bucket = (int) (7777 / 100.0);
        assertThat(cut.values().get(0)[2 * bucket + 1]).isEqualTo(-40.0);
    }

    @Test
    void aLongSeriesIsCutToThePointsAskedForAndItsSpikeAndDipSurvive() {
        List<MetricPoint> series = new ArrayList<>();
        for (int step = 0; step < 10_000; step++) {
            double v = Math.sin(step / 500.0);
            if (step == 4321) {
                v = 50; // a spike one step wide
            }
            if (step == 7777) {
                v = -40;
            }
            series.add(new MetricPoint("loss", step, v, Instant.EPOCH));
        }
        List<MetricPoint> cut = Downsample.minMax(series, 200);
        assertThat(cut).hasSizeLessThanOrEqualTo(200).hasSizeGreaterThan(150);
        assertThat(cut).extracting(MetricPoint::step).contains(0L, 4321L, 7777L, 9999L).isSorted();
        assertThat(cut.stream().max(Comparator.comparingDouble(MetricPoint::value)).orElseThrow().value()).isEqualTo(50);
        assertThat(cut.stream().min(Comparator.comparingDouble(MetricPoint::value)).orElseThrow().value()).isEqualTo(-40);
    }

    @Test
    void aSeriesThatFitsIsReturnedAsItIs() {
        List<MetricPoint> series = List.of(new MetricPoint("a", 1, 1, Instant.EPOCH), new MetricPoint("a", 2, 2, Instant.EPOCH));
        assertThat(Downsample.minMax(series, 10)).isEqualTo(series);
    }
}
