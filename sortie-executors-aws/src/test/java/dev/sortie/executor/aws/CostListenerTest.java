package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.MetricPoint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CostListenerTest {
    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

    /** What the ledger would hold of the experiment's earlier attempts, and what this attempt records. */
    private static final class Recorded implements RunListener {
        final double before;
        final List<MetricPoint> points = new ArrayList<>();

        Recorded(double before) {
            this.before = before;
        }

        @Override
        public double recorded(String metric) {
            return CostListener.METRIC.equals(metric) ? before : Double.NaN;
        }

        @Override
        public void metrics(List<MetricPoint> p) {
            points.addAll(p);
        }
    }

    @Test
    void aFirstAttemptCostsItsInstancesPriceForTheTimeItHeldIt() {
        Recorded ledger = new Recorded(Double.NaN);
        new CostListener(ledger, 0.5, NOW.minus(Duration.ofMinutes(90)), Clock.fixed(NOW, ZoneOffset.UTC)).commandExited();
        assertThat(ledger.points).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("cost_usd");
            assertThat(p.value()).isEqualTo(0.75);
        });
    }

    @Test
    void aResumedAttemptAddsItsCostToWhatTheEarlierAttemptsCost() {
        // attempt 1 ran on an instance a spot interruption took back; the run's cost is both instances', not the last's
        Recorded ledger = new Recorded(0.75);
        new CostListener(ledger, 1.0, NOW.minus(Duration.ofMinutes(30)), Clock.fixed(NOW, ZoneOffset.UTC)).commandExited();
        assertThat(ledger.points).singleElement().satisfies(p -> assertThat(p.value()).isEqualTo(1.25));
    }
}
