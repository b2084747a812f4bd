package dev.sortie.cli.output;

import dev.sortie.core.config.Suggest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The experiments table: one row per experiment, built-in columns, then each param, then each metric. Rows can
 * be filtered ({@link RowFilter}), sorted by any column and cut to chosen columns.
 */
public final class ExperimentTable {
    public static final List<String> DEFAULT_BUILTINS = List.of("name", "status", "executor", "created", "duration");
    public static final List<String> ALL_BUILTINS = List.of("id", "name", "status", "executor", "stage", "created", "started", "ended",
            "duration", "exit_code", "attempt", "commit", "command", "error");
    private final List<Row> rows = new ArrayList<>();
    private final Set<String> paramKeys = new LinkedHashSet<>();
    private final Set<String> metricKeys = new TreeSet<>();
    /** The DVC stage each experiment ran ({@code sortie run --stage}), by id; only those that ran one. */
    private final Map<String, String> stages = new java.util.HashMap<>();
    private final Instant now;
    /** Whether any experiment of the whole table ran a DVC stage (then the default columns include {@code stage}). */
    private final boolean anyStage;

    public ExperimentTable(List<ExperimentView> views, Instant now) {
        this(views, dev.sortie.core.ledger.TableColumns.of(views), now);
    }

    /**
     * A table of some rows of a larger one (a page the server's database chose) whose column names are {@code columns}:
     * the same default columns, names and errors as a table of every row.
     */
    public ExperimentTable(List<ExperimentView> views, dev.sortie.core.ledger.TableColumns columns, Instant now) {
        this.now = now;
        paramKeys.addAll(columns.params());
        metricKeys.addAll(columns.metrics());
        anyStage = columns.stages();
        for (ExperimentView v : views) {
            Map<String, Object> params = v.experiment().params().flatten();
            rows.add(new Row(v.experiment(), params, v.metrics()));
            String stage = stageOf(v.experiment());
            if (stage != null) {
                stages.put(v.experiment().id(), stage);
            }
        }
    }

    /** The experiments of the rows, in the table's order (after filters and sorting). */
    public List<dev.sortie.core.model.Experiment> experiments() {
        return rows.stream().map(Row::experiment).toList();
    }

    public List<String> fields() {
        List<String> f = new ArrayList<>(ALL_BUILTINS);
        f.addAll(paramKeys);
        f.addAll(metricKeys);
        return f;
    }

    /** The value of a column for a row: built-ins, then params, then metrics (a metric named like a param is {@code m:<name>}). */
    public Object value(Row r, String field) {
        Experiment e = r.experiment();
        switch (field) {
            case "id": return e.id();
            case "name": return e.name();
            case "status": return e.status().label();
            case "executor": return e.executor();
            case "stage":
                if (!paramKeys.contains(field)) { // a param named stage is the user's own column
                    return stages.get(e.id());
                }
                break;
            case "created": return e.createdAt();
            case "started": return e.startedAt();
            case "ended": return e.endedAt();
            case "duration": return e.duration(now);
            case "exit_code": return e.exitCode();
            case "attempt": return e.attempt();
            case "commit": return e.code() == null || e.code().baseCommit() == null ? null : e.code().baseCommit().substring(0, Math.min(10, e.code().baseCommit().length()));
            case "command": return e.command().display();
            case "error": return e.error();
            default: break;
        }
        if (field.startsWith("m:") && metricKeys.contains(field.substring(2))) {
            return r.metrics().get(field.substring(2));
        }
        if (r.params().containsKey(field)) {
            return r.params().get(field);
        }
        if (paramKeys.contains(field)) {
            return null;
        }
        return r.metrics().get(field);
    }

    public void checkField(String field, String what) {
        if (ALL_BUILTINS.contains(field) || paramKeys.contains(field) || metricKeys.contains(field)
                || (field.startsWith("m:") && metricKeys.contains(field.substring(2)))) {
            return;
        }
        String hint = dvcName(field).or(() -> Suggest.nearest(field, fields())).map(s -> "did you mean '" + s + "'? ").orElse("");
        throw new IllegalArgumentException(what + ": no column '" + field + "'; " + hint + "columns: " + String.join(", ", fields()));
    }

    /**
     * The metric {@code field} names in DVC's spelling: nested keys of metric files were recorded as {@code a/b}
     * before Sortie took DVC's {@code a.b} ({@code roc_auc/test} is now {@code roc_auc.test}); however many levels.
     */
    private Optional<String> dvcName(String field) {
        String dotted = field.replace('/', '.');
        return !dotted.equals(field) && metricKeys.contains(dotted) ? Optional.of(dotted) : Optional.empty();
    }

    public void filter(List<RowFilter> filters) {
        checkFilters(filters);
        rows.removeIf(r -> !filters.stream().allMatch(f -> f.test(value(r, f.field()))));
    }

    /** Refuses filters on columns the table does not have, and a metric compared with something that is no number. */
    public void checkFilters(List<RowFilter> filters) {
        for (RowFilter f : filters) {
            checkField(f.field(), "--filter " + f.text());
            boolean metric = !ALL_BUILTINS.contains(f.field()) && !paramKeys.contains(f.field());
            if (metric && f.needsNumber()) {
                // metrics are numbers: 'loss<abc' compared as text would keep every row
                throw new IllegalArgumentException("--filter '" + f.text() + "': metric '" + f.field()
                        + "' holds numbers; expected a number after '" + f.op() + "', got '" + f.value() + "', e.g. '" + f.field() + f.op() + "0.3'");
            }
        }
    }

    /** Keeps the first {@code limit} rows. */
    public void limit(int limit) {
        if (rows.size() > limit) {
            rows.subList(limit, rows.size()).clear();
        }
    }

    public void sort(String field, boolean descending) {
        checkField(field, "--sort-by");
        Comparator<Row> cmp = (a, b) -> RowFilter.compareValues(value(a, field), value(b, field));
        Comparator<Row> ordered = descending ? cmp.reversed() : cmp;
        if (descending) {
            // ties newest first: descending reverses the whole order, as the ledgers' pages (a server's show, the web UI) do
            java.util.Collections.reverse(rows);
        }
        // Rows without the value go last either way: they are the least interesting when ranking.
        rows.sort((a, b) -> {
            boolean na = value(a, field) == null;
            boolean nb = value(b, field) == null;
            if (na != nb) {
                return na ? 1 : -1;
            }
            return ordered.compare(a, b);
        });
    }

    public Table render(List<String> columns) {
        List<String> cols = columns;
        if (cols == null || cols.isEmpty()) {
            cols = new ArrayList<>(DEFAULT_BUILTINS);
            if (anyStage && !paramKeys.contains("stage")) {
                cols.add(cols.indexOf("executor") + 1, "stage"); // DVC stages run alone: which one each row ran
            }
            for (String p : paramKeys) {
                cols.add(p);
            }
            for (String m : metricKeys) {
                cols.add(paramKeys.contains(m) ? "m:" + m : m);
            }
        } else {
            for (String c : cols) {
                checkField(c, "--columns");
            }
        }
        Table t = new Table(cols);
        for (Row r : rows) {
            List<Object> cells = new ArrayList<>(cols.size());
            for (String c : cols) {
                cells.add(value(r, c));
            }
            t.add(cells);
        }
        return t;
    }

    private static String stageOf(Experiment e) {
        try {
            return dev.sortie.core.engine.TaskSource.stageOf(e.task());
        } catch (RuntimeException unreadable) {
            return null; // a task recorded by an older sortie: no stage
        }
    }

    public int size() {
        return rows.size();
    }

    public record Row(Experiment experiment, Map<String, Object> params, Map<String, Double> metrics) {
        public Row {
            params = new LinkedHashMap<>(params);
        }
    }
}
