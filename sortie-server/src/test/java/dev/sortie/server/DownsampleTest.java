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

        // 10,000 steps in about 100 buckets: 79 of 128 steps (the power of two at or above 100), from step 0
        assertThat(cut.steps()).hasSize(158).isSorted();
        assertThat(cut.steps()[0]).isEqualTo(0);
        assertThat(cut.steps()[2]).isEqualTo(128);
        assertThat(cut.steps()[156]).isEqualTo(78 * 128);
        assertThat(cut.values()).hasSize(4).allSatisfy(v -> assertThat(v).hasSize(158));
        List<Double> first = java.util.Arrays.stream(cut.values().get(0)).filter(java.util.Objects::nonNull).toList();
        assertThat(first).hasSize(158).contains(50.0, -40.0);
        assertThat(java.util.Arrays.asList(cut.values().get(1))).contains(9.0);
        assertThat(java.util.Arrays.stream(cut.values().get(2)).filter(java.util.Objects::nonNull).toList()).containsExactly(3.0, 2.0, 1.0);
        assertThat(cut.values().get(3)).containsOnlyNulls();
        // within a bucket the two extremes come in the order they were logged: the dip at 7777 after the bucket's high
        int bucket = 7777 / 128;
        assertThat(cut.values().get(0)[2 * bucket + 1]).isEqualTo(-40.0);
    }

    /**
     * The compare route's path: the grid from each series' span, then only the ledger's rollup rows that fit it. On a
     * real ledger, for every bucket count a chart may ask, the lines equal those cut from every point.
     */
    @Test
    void theLedgersRollupsCutOntoTheGridGiveTheSameLinesAsEveryPoint(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        try (dev.sortie.ledger.SqliteLedger ledger = dev.sortie.ledger.SqliteLedger.open(dir.resolve("ledger.db"))) {
            java.util.Random random = new java.util.Random(3);
            List<String> ids = new ArrayList<>();
            for (int e = 0; e < 3; e++) {
                String id = "exp" + e;
                ids.add(id);
                ledger.insert(new dev.sortie.core.model.Experiment(id, "n" + e, dev.sortie.core.model.ExperimentStatus.QUEUED, "local",
                        dev.sortie.core.model.CommandSpec.shell("true"), dev.sortie.core.params.Params.of(java.util.Map.of()), null, null,
                        Instant.EPOCH, null, null, null, null, 1, null));
                List<MetricPoint> points = new ArrayList<>();
                int start = e * 777;
                for (int step = start; step < start + 6000 + e * 3000; step += 1 + e) {
                    points.add(new MetricPoint("loss", step, step == 5003 ? 80 : random.nextGaussian(), Instant.EPOCH));
                }
                java.util.Collections.shuffle(points, random);
                for (int i = 0; i < points.size(); i += 500) {
                    ledger.recordMetrics(id, points.subList(i, Math.min(points.size(), i + 500)));
                }
            }
            List<List<MetricPoint>> raw = ids.stream().map(id -> ledger.series(id, "loss")).toList();
            for (int buckets : new int[] {2, 7, 150, 300, 1000, 5000}) {
                long lo = ids.stream().mapToLong(id -> ledger.seriesSpan(id, "loss").orElseThrow().firstStep()).min().orElseThrow();
                long hi = ids.stream().mapToLong(id -> ledger.seriesSpan(id, "loss").orElseThrow().lastStep()).max().orElseThrow();
                long width = Downsample.gridWidth(lo, hi, buckets);
                List<List<MetricPoint>> rolled = ids.stream().map(id -> ledger.seriesExtremes(id, "loss", width)).toList();
                if (width >= 64) {
                    assertThat(rolled.stream().mapToInt(List::size).sum()).as("%d buckets", buckets)
                            .isLessThan(raw.stream().mapToInt(List::size).sum() / 4);
                }
                Downsample.Aligned fromRaw = Downsample.aligned(raw, buckets);
                Downsample.Aligned fromRollups = Downsample.aligned(rolled, buckets);
                assertThat(fromRollups.steps()).as("%d buckets", buckets).containsExactly(fromRaw.steps());
                for (int i = 0; i < ids.size(); i++) {
                    assertThat(fromRollups.values().get(i)).as("%d buckets, %s", buckets, ids.get(i)).containsExactly(fromRaw.values().get(i));
                }
                assertThat(java.util.Arrays.asList(fromRollups.values().get(1))).contains(80.0);
            }
        }
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
