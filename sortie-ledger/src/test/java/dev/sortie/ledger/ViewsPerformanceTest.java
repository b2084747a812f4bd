package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The experiments table of a big ledger: 10,000 experiments with 20 params and 20 metrics each. Prints how long
 * {@link SqliteLedger#views()} takes and asserts only that what it returns is right: wall time on a shared
 * machine is too noisy to assert on.
 */
class ViewsPerformanceTest {
    private static final int EXPERIMENTS = 10_000;
    private static final int PARAMS = 20;
    private static final int METRICS = 20;
    private static final int BATCH = 1_000;

    @TempDir
    Path dir;

    @Test
    void viewsOfTenThousandExperiments() {
        Path file = dir.resolve("ledger.db");
        long buildStart = System.nanoTime();
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            for (int from = 0; from < EXPERIMENTS; from += BATCH) {
                List<Experiment> batch = new ArrayList<>();
                Map<String, List<MetricPoint>> metrics = new LinkedHashMap<>();
                for (int i = from; i < from + BATCH; i++) {
                    batch.add(experiment(i));
                    metrics.put(id(i), metrics(i));
                }
                ledger.insertAll(batch);
                ledger.recordMetrics(metrics);
            }
        }
        long buildMillis = (System.nanoTime() - buildStart) / 1_000_000;

        // A fresh instance, as a short-lived `sortie show` would open it.
        long openStart = System.nanoTime();
        try (SqliteLedger ledger = SqliteLedger.open(file)) {
            long openMillis = (System.nanoTime() - openStart) / 1_000_000;
            List<Long> millis = new ArrayList<>();
            List<ExperimentView> views = null;
            for (int run = 0; run < 6; run++) {
                long start = System.nanoTime();
                views = ledger.views();
                millis.add((System.nanoTime() - start) / 1_000_000);
            }
            System.out.printf(Locale.ROOT,
                    "views() of %d experiments x %d params x %d metrics: first call %d ms, then %s ms"
                            + " (open of the existing ledger %d ms, building it %d ms)%n",
                    EXPERIMENTS, PARAMS, METRICS, millis.get(0), millis.subList(1, millis.size()), openMillis, buildMillis);

            assertThat(views).hasSize(EXPERIMENTS);
            for (int i : new int[] {0, 1, 4_999, EXPERIMENTS - 1}) {
                ExperimentView v = views.get(i);
                assertThat(v.experiment()).isEqualTo(experiment(i));
                assertThat(v.metrics()).hasSize(METRICS).containsEntry("metric_07", 7 + i / 1000.0);
                assertThat(List.copyOf(v.experiment().params().asMap().keySet()))
                        .containsExactlyElementsOf(experiment(i).params().asMap().keySet());
            }
        }
    }

    private static String id(int i) {
        return String.format(Locale.ROOT, "%08x%04d", i * 2654435761L & 0xffffffffL, i);
    }

    private static Experiment experiment(int i) {
        Map<String, Object> params = new LinkedHashMap<>();
        Map<String, Object> optimizer = new LinkedHashMap<>();
        optimizer.put("name", i % 2 == 0 ? "adam" : "sgd");
        optimizer.put("lr", 0.001 * (i % 10 + 1));
        optimizer.put("momentum", 0.9);
        params.put("optimizer", optimizer);
        for (int p = 0; params.size() + optimizer.size() - 1 < PARAMS; p++) {
            params.put("param_" + (PARAMS - p), p % 3 == 0 ? (Object) (long) (i + p) : p % 3 == 1 ? "value-" + p : p * 0.5);
        }
        return new Experiment(id(i), "exp-" + i, i % 7 == 0 ? ExperimentStatus.FAILED : ExperimentStatus.SUCCEEDED,
                "local", CommandSpec.shell("python train.py --seed " + i), Params.of(params), null, null,
                T0.plusMillis(i / 3), T0.plusMillis(i), T0.plusMillis(i + 1000), 0, null, 1, null);
    }

    private static List<MetricPoint> metrics(int i) {
        List<MetricPoint> out = new ArrayList<>();
        for (int m = 0; m < METRICS; m++) {
            out.add(new MetricPoint(String.format(Locale.ROOT, "metric_%02d", m), 99, m + i / 1000.0, T0));
        }
        return out;
    }
}
