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
