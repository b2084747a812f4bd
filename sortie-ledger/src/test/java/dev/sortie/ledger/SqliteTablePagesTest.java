package dev.sortie.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Condition;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The experiments list of the server, worked out in SQLite's SQL, gives what the plain reading of every row gives
 * (the Ledger interface's default, which {@code sortie show}'s semantics define): same rows, same order, same total.
 */
class SqliteTablePagesTest {
    @TempDir
    Path dir;
    SqliteLedger ledger;
    Ledger plain;

    @BeforeEach
    void open() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"));
        // the same ledger with tablePage() left to the interface's default (every row read, filtered and sorted in Java)
        plain = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(), new Class<?>[] {Ledger.class}, (proxy, m, args) -> {
            if (m.getName().equals("tablePage")) {
                return InvocationHandler.invokeDefault(proxy, m, args);
            }
            try {
                return m.invoke(ledger, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        Random random = new Random(7);
        String[] opts = {"sgd", "adam", "adamw"};
        ExperimentStatus[] statuses = {ExperimentStatus.QUEUED, ExperimentStatus.SUCCEEDED, ExperimentStatus.FAILED};
        for (int i = 0; i < 40; i++) {
            Map<String, Object> params = new LinkedHashMap<>();
            if (i % 7 != 0) {
                params.put("lr", Math.round(random.nextDouble() * 100) / 100.0); // some rows have no lr
            }
            params.put("opt", opts[i % 3]);
            params.put("train", Map.of("bs", 16 << (i % 4)));
            Experiment e = new Experiment(String.format("e%04d", i), "run-" + i, statuses[i % 3], i % 2 == 0 ? "local" : "gpu",
                    CommandSpec.shell("python train.py"), Params.of(params), null, null, TestExperiments.T0.plusSeconds(i), null, null,
                    null, null, 1, null);
            ledger.insert(e);
            if (i % 5 != 0) {
                ledger.recordMetrics(e.id(), List.of(new MetricPoint("loss", 1, random.nextDouble(), TestExperiments.T0),
                        new MetricPoint("val.acc", 1, i % 4, TestExperiments.T0)));
            }
        }
    }

    @AfterEach
    void close() {
        ledger.close();
    }

    @Test
    void filtersSortsAndPagesInSqlAsTheDefaultDoesInJava() {
        List<List<String>> filterSets = List.of(List.of(), List.of("lr>0.5"), List.of("loss<=0.4", "opt=adam"), List.of("status=failed"),
                List.of("opt~adam"), List.of("lr!=0.33"), List.of("params.train.bs>=64"), List.of("metrics.val.acc=2"), List.of("name>run-3"),
                List.of("executor=gpu", "loss>0.1"), List.of("opt<b"));
        List<String> sorts = new ArrayList<>(List.of("lr", "loss", "params.lr", "metrics.loss", "metrics.val.acc", "name", "status",
                "opt", "train.bs", "created", "executor"));
        sorts.add(null);
        int checked = 0;
        for (List<String> filters : filterSets) {
            for (String sort : sorts) {
                for (boolean desc : new boolean[] {false, true}) {
                    for (int[] window : new int[][] {{100, 0}, {7, 3}, {5, 30}}) {
                        TableQuery q = new TableQuery(filters.stream().map(Condition::parse).toList(), sort, desc, window[0], window[1]);
                        TablePage sql = ledger.tablePage(q);
                        TablePage java = plain.tablePage(q);
                        assertThat(ids(sql)).as(q.toString()).isEqualTo(ids(java));
                        assertThat(sql.total()).as(q.toString()).isEqualTo(java.total());
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(11 * 12 * 2 * 3);
        // and they do select: a filter keeps some rows, not all or none
        TablePage some = ledger.tablePage(new TableQuery(List.of(Condition.parse("lr>0.5")), "lr", true, 100, 0));
        assertThat(some.total()).isBetween(5, 30);
        assertThat(some.rows().get(0).experiment().params().flatten().get("lr")).isInstanceOf(Double.class);
    }

    private static List<String> ids(TablePage page) {
        return page.rows().stream().map(ExperimentView::experiment).map(Experiment::id).toList();
    }
}
