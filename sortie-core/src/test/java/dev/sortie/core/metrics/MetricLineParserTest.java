package dev.sortie.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class MetricLineParserTest {
    private final MetricLineParser parser = new MetricLineParser(List.of());

    @Test
    void keyValueLines() {
        assertThat(parser.parse("loss=0.31 acc=0.9 step=5")).containsExactly(new RawMetric("loss", 0.31, 5L), new RawMetric("acc", 0.9, 5L));
        assertThat(parser.parse("loss=0.31, val/acc=1e-3")).containsExactly(new RawMetric("loss", 0.31, null), new RawMetric("val/acc", 0.001, null));
    }

    @Test
    void ordinaryLogLinesAreNotMetrics() {
        assertThat(parser.parse("Loading model=resnet50 from disk")).isEmpty();
        assertThat(parser.parse("epoch 3: loss=0.3")).isEmpty();
        assertThat(parser.parse("model=resnet lr=0.1")).isEmpty();
        assertThat(parser.parse("")).isEmpty();
        assertThat(parser.parse("a=b=c")).isEmpty();
    }

    @Test
    void jsonLines() {
        assertThat(parser.parse("{\"loss\": 0.5, \"step\": 2, \"train\": {\"acc\": 0.8}, \"tag\": \"x\"}"))
                .containsExactly(new RawMetric("loss", 0.5, 2L), new RawMetric("train.acc", 0.8, 2L));
        assertThat(parser.parse("{not json}")).isEmpty();
    }

    @Test
    void nonFiniteValues() {
        assertThat(parser.parse("loss=nan").get(0).value()).isNaN();
        assertThat(parser.parse("loss=inf").get(0).value()).isInfinite();
    }

    @Test
    void userPatternsWithNameOrNamedGroups() {
        MetricLineParser p = new MetricLineParser(List.of(
                new MetricPattern("val_loss", Pattern.compile("val loss: ([0-9.]+)")),
                new MetricPattern(null, Pattern.compile("Epoch (?<step>\\d+) .*acc (?<acc>[0-9.]+)"))));
        assertThat(p.parse("val loss: 0.25")).containsExactly(new RawMetric("val_loss", 0.25, null));
        assertThat(p.parse("Epoch 7 done, acc 0.91")).containsExactly(new RawMetric("acc", 0.91, 7L));
    }

    @Test
    void stepsAreNumberedPerKeyWhenAbsent() {
        StepCounter c = new StepCounter();
        Instant t = Instant.EPOCH;
        List<MetricPoint> a = c.assign(parser.parse("loss=1"), t);
        List<MetricPoint> b = c.assign(parser.parse("loss=2 acc=0.5"), t);
        List<MetricPoint> d = c.assign(parser.parse("loss=3 step=10"), t);
        List<MetricPoint> e = c.assign(parser.parse("loss=4"), t);
        assertThat(a).extracting(MetricPoint::step).containsExactly(0L);
        assertThat(b).extracting(MetricPoint::step).containsExactly(1L, 0L);
        assertThat(d).extracting(MetricPoint::step).containsExactly(10L);
        assertThat(e).extracting(MetricPoint::step).containsExactly(11L);
    }
}
