package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The experiments table's pages over 100,000 experiments: each filter and order a page can ask for is read off an
 * index by the database, which stops after the page, never by sorting or scanning the whole table (and never by
 * reading it into Java). Asserted on the database's own plan, not on wall time; {@link SqlitePagesAtScaleTest} and
 * {@link PostgresPagesAtScaleTest} run it on each.
 */
abstract class PagesAtScaleTest {
    static final int BASE = 1_000;
    static final int COPIES = 100;
    static final int EXPERIMENTS = BASE * COPIES;

    abstract JdbcLedger openLedger() throws Exception;

    /** Anything the database needs after a bulk load before it plans well (PostgreSQL: its statistics). */
    abstract void afterLoad(JdbcLedger ledger) throws Exception;

    /** The lines of a plan that sort rows after reading them. */
    abstract List<String> sorts(List<String> plan);

    /** The lines of a plan that read the whole table. */
    abstract List<String> tableScans(List<String> plan);

    @Test
    void everyPageOfAHundredThousandExperimentsIsReadOffAnIndex() throws Exception {
        try (JdbcLedger ledger = openLedger()) {
            load(ledger);
            afterLoad(ledger);

            List<TableQuery> queries = new ArrayList<>();
            for (String sort : java.util.Arrays.asList(null, "created", "name", "status", "started", "ended")) {
                for (boolean desc : new boolean[] {false, true}) {
                    queries.add(TableQuery.first(50).sortedBy(sort, desc));
                    queries.add(TableQuery.first(50).sortedBy(sort, desc).page(20_000, 50));
                }
            }
            queries.add(TableQuery.first(50).where("status=failed"));
            queries.add(TableQuery.first(50).where("status=failed").sortedBy("created", true).page(1_000, 50));
            queries.add(TableQuery.first(50).where("executor=gpu").sortedBy(null, true));
            queries.add(TableQuery.first(50).where("executor=gpu", "status=succeeded"));
            // A filter and another column's order: the database may take the filter's index and sort the rows that
            // pass it (SQLite does; PostgreSQL walks the order's index and filters), but never reads the whole table.
            List<TableQuery> filteredThenOrdered = List.of(
                    TableQuery.first(50).where("status=running").sortedBy("name", false),
                    TableQuery.first(50).where("executor=gpu").sortedBy("ended", true),
                    // by a metric: its index (metric_key, value) walked in value order, ties sorted in creation order as
                    // they come (SQLite: "TEMP B-TREE FOR RIGHT PART", PostgreSQL: an incremental sort), never the table
                    TableQuery.first(50).sortedBy("metrics.loss", false),
                    TableQuery.first(50).sortedBy("metrics.loss", true).page(20_000, 50),
                    TableQuery.first(50).where("metrics.loss<0.01"),
                    TableQuery.first(50).where("metrics.loss>=0.5").sortedBy("metrics.loss", true));

            Map<String, List<String>> bad = new LinkedHashMap<>();
            for (TableQuery q : queries) {
                List<String> plan = ledger.explain(q);
                List<String> problems = new ArrayList<>(sorts(plan));
                problems.addAll(tableScans(plan));
                if (!problems.isEmpty()) {
                    bad.put(q + "\n    " + String.join("\n    ", plan), problems);
                }
            }
            for (TableQuery q : filteredThenOrdered) {
                List<String> plan = ledger.explain(q);
                if (!tableScans(plan).isEmpty()) {
                    bad.put(q + "\n    " + String.join("\n    ", plan), tableScans(plan));
                }
            }
            assertThat(bad).as("queries whose plan sorts or scans the table").isEmpty();

            // and they answer right: the total from the database, one page's rows
            TablePage failed = ledger.tablePage(TableQuery.first(50).where("status=failed"));
            assertThat(failed.total()).as("every 7th of the originals, 143 of 1,000, and their copies").isEqualTo(143 * COPIES);
            assertThat(failed.rows()).hasSize(50).allSatisfy(v -> assertThat(v.experiment().status()).isEqualTo(ExperimentStatus.FAILED));
            TablePage byName = ledger.tablePage(TableQuery.first(3).sortedBy("name", true));
            assertThat(byName.rows()).extracting(v -> v.experiment().name()).containsExactly("exp-999-99", "exp-999-98", "exp-999-97");
            assertThat(byName.total()).isEqualTo(EXPERIMENTS);
            TablePage deep = ledger.tablePage(TableQuery.first(2).page(EXPERIMENTS - 1, 2));
            assertThat(deep.rows()).hasSize(1);
            assertThat(ledger.tablePage(TableQuery.first(1)).rows().get(0).metrics()).containsEntry("loss", 0.0);
            TablePage byLoss = ledger.tablePage(TableQuery.first(2).sortedBy("metrics.loss", true));
            assertThat(byLoss.rows()).extracting(v -> v.experiment().name()).containsExactly("exp-999-99", "exp-999-98");
            assertThat(ledger.tablePage(TableQuery.first(1).where("metrics.loss<0.01")).total()).isEqualTo(10 * COPIES);
            // rows without an end (queued and running: 2 of every 7) come after those with one, in either direction
            TablePage lastEnded = ledger.tablePage(TableQuery.first(1).sortedBy("ended", true).page(EXPERIMENTS - 1, 1));
            assertThat(lastEnded.rows().get(0).experiment().endedAt()).isNull();
            TablePage firstEnded = ledger.tablePage(TableQuery.first(1).sortedBy("ended", true));
            assertThat(firstEnded.rows().get(0).experiment().name()).isEqualTo("exp-999-99");
        }
    }

    /**
     * {@link #BASE} experiments through the ledger, then 99 copies of them made by the database itself (one
     * INSERT ... SELECT): loading 100,000 rows one by one would be most of the test's time, and the ledger's inserts
     * are not what it is about. Copy {@code c} of experiment {@code i} is {@code exp-<i>-<c>}, created {@code c}
     * seconds after the original, and has its status (every 7th of the originals failed).
     */
    private static void load(JdbcLedger ledger) {
        List<Experiment> batch = new ArrayList<>();
        Map<String, List<MetricPoint>> metrics = new LinkedHashMap<>();
        for (int i = 0; i < BASE; i++) {
            ExperimentStatus status = i % 7 == 0 ? ExperimentStatus.FAILED : i % 7 == 1 ? ExperimentStatus.RUNNING
                    : i % 7 == 2 ? ExperimentStatus.QUEUED : ExperimentStatus.SUCCEEDED;
            boolean started = status != ExperimentStatus.QUEUED;
            boolean ended = status == ExperimentStatus.FAILED || status == ExperimentStatus.SUCCEEDED;
            batch.add(new Experiment(String.format(Locale.ROOT, "%08x", i * 2654435761L & 0xffffffffL) + "-" + i + "-0", "exp-" + i + "-0", status,
                    i % 3 == 0 ? "gpu" : "local", CommandSpec.shell("python train.py --seed " + i),
                    Params.of(Map.of("lr", 0.001 * (i % 10), "seed", (long) i)), null, null, T0.plusMillis(i),
                    started ? T0.plusMillis(i + 10) : null, ended ? T0.plusMillis(i + 1000 + i % 13) : null, ended ? 0 : null,
                    null, 1, null));
            metrics.put(batch.get(i).id(), List.of(new MetricPoint("loss", 1, i / 1000.0, T0)));
        }
        ledger.insertAll(batch);
        ledger.recordMetrics(metrics);
        ledger.db.write("copy the experiments 99 times", c -> {
            // the originals are copy 0: their "-0" becomes "-<c>"
            String select = ExperimentRows.COLUMNS.stream().map(col -> switch (col) {
                case "id" -> "substr(id, 1, length(id) - 2) || '-' || CAST(n.i AS TEXT)";
                case "name" -> "substr(name, 1, length(name) - 2) || '-' || CAST(n.i AS TEXT)";
                case "created_at" -> "created_at + n.i * 1000";
                case "started_at" -> "started_at + n.i * 1000";
                case "ended_at" -> "ended_at + n.i * 1000";
                default -> col;
            }).collect(Collectors.joining(", "));
            try (PreparedStatement ps = c.prepareStatement("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                    + (COPIES - 1) + ") INSERT INTO experiments (seq, latest_metrics, " + ExperimentRows.SELECT_LIST + ") SELECT seq + n.i * "
                    + BASE + ", latest_metrics, " + select + " FROM experiments CROSS JOIN n")) {
                assertThat(ps.executeUpdate()).isEqualTo(BASE * (COPIES - 1));
            }
            // and their metrics: the copies' latest values, as recording them would have made them
            try (PreparedStatement ps = c.prepareStatement("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                    + (COPIES - 1) + ") INSERT INTO metrics (experiment_id, metric_key, step, value, logged_at)"
                    + " SELECT substr(experiment_id, 1, length(experiment_id) - 2) || '-' || CAST(n.i AS TEXT), metric_key, step, value, logged_at"
                    + " FROM metrics CROSS JOIN n")) {
                assertThat(ps.executeUpdate()).isEqualTo(BASE * (COPIES - 1));
            }
            return null;
        });
        assertThat(ledger.count()).isEqualTo(EXPERIMENTS);
    }
}
