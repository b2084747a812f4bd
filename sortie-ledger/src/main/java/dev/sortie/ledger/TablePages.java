package dev.sortie.ledger;

import dev.sortie.core.ledger.Condition;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentView;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link dev.sortie.core.ledger.Ledger#tablePage} in SQL, on SQLite and PostgreSQL alike ({@link SqlDialect} says what
 * differs): the filters, the order and the page are worked out by the database, so a list over 100,000 experiments
 * reads one page of rows. The meaning is the in-memory default's: numbers compare as numbers and the rest as text, a
 * row without the field matches only {@code !=}, numbers sort before text, rows without the sort value come last.
 *
 * <p>Rows without the sort value are read by a second select rather than by an order term such as
 * {@code x IS NULL}: each select's order is then one an index holds (V6: a built-in column, then {@code created_at, seq},
 * all in one direction), so the database reads the page off the index and stops, for a descending order too. Metrics
 * are read from the {@code metrics} table: a sort or filter by {@code metrics.KEY} walks its index on (metric_key, value)
 * (V7); params from the row's JSON.
 */
final class TablePages {
    private final ExperimentRows rows;
    private final SqlDialect dialect;

    TablePages(ExperimentRows rows, SqlDialect dialect) {
        this.rows = rows;
        this.dialect = dialect;
    }

    /**
     * A column as SQL. {@code present} is null exactly where the row has no value; {@code number} is the value where it
     * is a number (null for a column that never holds one); {@code text} is the value as text; {@code order} the terms
     * that sort rows that have a value ({@code %s} for the direction).
     */
    private record Column(String present, String number, String text, java.util.function.Function<Boolean, String> order, boolean nullable,
            boolean usesParams, String metricKey) {
        /** A column whose order terms take the direction where {@code template} says {@code %s}. */
        Column(String present, String number, String text, String template, boolean nullable, boolean usesParams) {
            this(present, number, text, desc -> template.replace("%s", desc ? " DESC" : ""), nullable, usesParams, null);
        }

        Column(String present, String number, String text, java.util.function.Function<Boolean, String> order, boolean nullable,
                boolean usesParams) {
            this(present, number, text, order, nullable, usesParams, null);
        }
    }

    TablePage page(Connection c, TableQuery q, long nowMillis) throws SQLException {
        Plan plan = plan(q, nowMillis);
        int total = count(c, plan.from(plan.filtersUseParams), plan.where, plan.whereBinds);
        List<ExperimentView> out = new ArrayList<>();
        if (q.limit() == 0) {
            return new TablePage(out, total);
        }
        if (plan.sort == null || !plan.sort.nullable) {
            out.addAll(select(c, plan.main(q.offset(), q.limit())));
            return new TablePage(out, total);
        }
        out.addAll(select(c, plan.withValue(q.offset(), q.limit())));
        if (out.size() < q.limit()) {
            long passed = 0; // rows without the value to pass over: those of the offset beyond the rows with one
            if (out.isEmpty() && q.offset() > 0) {
                Select with = plan.withValue(0, 0);
                passed = Math.max(0, q.offset() - count(c, with.from, with.where, with.binds));
            }
            out.addAll(select(c, plan.withoutValue(passed, q.limit() - out.size())));
        }
        return new TablePage(out, total);
    }

    /** How the database would run the selects of a page: one line per step of each plan. */
    List<String> explain(Connection c, TableQuery q, long nowMillis) throws SQLException {
        Plan plan = plan(q, nowMillis);
        List<Select> selects = plan.sort == null || !plan.sort.nullable ? List.of(plan.main(q.offset(), q.limit()))
                : List.of(plan.withValue(q.offset(), q.limit()), plan.withoutValue(q.offset(), q.limit()));
        List<String> lines = new ArrayList<>();
        for (Select s : selects) {
            try (PreparedStatement ps = c.prepareStatement(dialect.explain(s.sql()))) {
                bind(ps, s.allBinds());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        // SQLite: id, parent, notused, detail; PostgreSQL: one column of text
                        lines.add(rs.getString(rs.getMetaData().getColumnCount()));
                    }
                }
            }
        }
        return lines;
    }

    /** One select of a page's rows. */
    private record Select(String from, String where, List<Object> binds, String order, long offset, long limit) {
        String sql() {
            return "SELECT " + ExperimentRows.SELECT_LIST + ", latest_metrics FROM " + from + where + " ORDER BY " + order + " LIMIT ? OFFSET ?";
        }

        List<Object> allBinds() {
            List<Object> all = new ArrayList<>(binds);
            all.add(limit);
            all.add(offset);
            return all;
        }
    }

    /** The parts of a page's selects. */
    private final class Plan {
        final String where;
        final List<Object> whereBinds;
        final boolean filtersUseParams;
        final Column sort;
        final boolean descending;
        final String ties;

        Plan(String where, List<Object> whereBinds, boolean filtersUseParams, Column sort, boolean descending) {
            this.where = where;
            this.whereBinds = whereBinds;
            this.filtersUseParams = filtersUseParams;
            this.sort = sort;
            this.descending = descending;
            String dir = descending ? " DESC" : "";
            this.ties = "created_at" + dir + ", seq" + dir;
        }

        String from(boolean params) {
            return "experiments" + (params ? dialect.paramsJoin() : "");
        }

        boolean anyParams() {
            return filtersUseParams || (sort != null && sort.usesParams);
        }

        /** The page when every matching row has a value to sort by (or there is no sort). */
        Select main(long offset, long limit) {
            String order = sort == null ? ties : sort.order.apply(descending) + ", " + ties;
            return new Select(from(anyParams()), where, whereBinds, order, offset, limit);
        }

        Select withValue(long offset, long limit) {
            if (sort.metricKey != null) {
                // walked off the metrics index (metric_key, value) in the order of the value, each row joined to its
                // experiment, not the metric looked up for every experiment and the whole table sorted
                return new Select("metrics sm JOIN " + from(anyParams()) + " ON experiments.id = sm.experiment_id",
                        and(where, "sm.metric_key = " + SqlDialect.literal(sort.metricKey) + " AND sm.value IS NOT NULL"), whereBinds,
                        "sm.value" + (descending ? " DESC" : "") + ", " + ties, offset, limit);
            }
            return new Select(from(anyParams()), and(where, sort.present + " IS NOT NULL"), whereBinds,
                    sort.order.apply(descending) + ", " + ties, offset, limit);
        }

        Select withoutValue(long offset, long limit) {
            if (sort.metricKey != null) {
                return new Select(from(anyParams()), and(where, "NOT EXISTS (SELECT 1 FROM metrics sm WHERE sm.experiment_id = experiments.id"
                        + " AND sm.metric_key = " + SqlDialect.literal(sort.metricKey) + " AND sm.value IS NOT NULL)"), whereBinds, ties, offset, limit);
            }
            // the sort's own terms, all null here, kept: they let PostgreSQL read these rows in the same index's order
            // (it does not take "started_at IS NULL" as fixing started_at the way "= ?" would)
            return new Select(from(anyParams()), and(where, sort.present + " IS NULL"), whereBinds,
                    sort.order.apply(descending) + ", " + ties, offset, limit);
        }
    }

    private Plan plan(TableQuery q, long now) {
        StringBuilder where = new StringBuilder();
        List<Object> binds = new ArrayList<>();
        boolean params = false;
        for (Condition cond : q.filters()) {
            Column col = column(cond.field(), now);
            params |= col.usesParams;
            where.append(where.length() == 0 ? " WHERE " : " AND ").append(condition(cond, col, binds));
        }
        // by creation is the order every page ends with: said once, or the database no longer sees its index in it
        Column sort = q.sortBy() == null || q.sortBy().equals("created") ? null : column(q.sortBy(), now);
        return new Plan(where.toString(), List.copyOf(binds), params, sort, q.descending());
    }

    private static String and(String where, String term) {
        return where.isEmpty() ? " WHERE " + term : where + " AND " + term;
    }

    private String condition(Condition cond, Column col, List<Object> binds) {
        Double value = cond.number();
        if (col.metricKey != null && value != null && !value.isNaN() && !cond.op().equals("~")) {
            // the experiments whose metric passes, off the metrics index (metric_key, value): a range, not a lookup per row
            String key = SqlDialect.literal(col.metricKey);
            binds.add(value);
            return cond.op().equals("!=")
                    ? "experiments.id NOT IN (SELECT experiment_id FROM metrics WHERE metric_key = " + key + " AND value = ?)"
                    : "experiments.id IN (SELECT experiment_id FROM metrics WHERE metric_key = " + key + " AND value " + cond.op() + " ?)";
        }
        String cmp;
        if (cond.op().equals("~")) {
            binds.add(cond.value());
            cmp = dialect.contains(col.text);
        } else {
            String op = cond.op().equals("!=") ? "<>" : cond.op();
            boolean ordered = !op.equals("=") && !op.equals("<>");
            String text = ordered ? dialect.ordered(col.text) : col.text;
            Double number = cond.number();
            if (number != null && col.number != null && !number.isNaN()) {
                if (col.number.equals(col.present)) {
                    binds.add(number); // a numeric column: its value is always a number
                    cmp = col.number + " " + op + " ?";
                } else {
                    binds.add(number);
                    binds.add(cond.value());
                    cmp = "CASE WHEN " + col.number + " IS NOT NULL THEN " + col.number + " " + op + " ? ELSE " + text + " " + op + " ? END";
                }
            } else {
                binds.add(cond.value());
                cmp = text + " " + op + " ?";
            }
        }
        if (cond.op().equals("!=")) {
            return "(" + col.present + " IS NULL OR " + cmp + ")";
        }
        return col.nullable ? "(" + col.present + " IS NOT NULL AND " + cmp + ")" : cmp;
    }

    /** The SQL of a column: built-ins, {@code params.X}, {@code metrics.X}, or a bare name (the param, else the metric). */
    private Column column(String field, long now) {
        switch (field) {
            case "id", "executor", "command":
                return text(field, false);
            case "name":
                return new Column("name", null, "name", dialect.byCodePoint("name") + "%s", false, false);
            case "status":
                // lowercase ASCII words: the same order in every collation, so PostgreSQL keeps to the status index
                return new Column("status", null, "status", "status%s", false, false);
            case "error":
                return text("error", true);
            case "commit":
                return text("code_base_commit", true);
            case "created":
                return numeric("created_at", false);
            case "attempt":
                return numeric("attempt", false);
            case "exit_code":
                return numeric("exit_code", true);
            case "started", "ended": {
                String col = field + "_at";
                // nulls are filtered out of this order's select; said so that PostgreSQL's index (NULLS FIRST) serves it
                return new Column(col, col, "CAST(" + col + " AS TEXT)", desc -> dialect.nullsSmallest(col, desc), true, false);
            }
            case "duration": {
                String d = "CAST((COALESCE(ended_at, " + now + ") - started_at) / 1000.0 AS DOUBLE PRECISION)";
                return new Column(d, d, "CAST(" + d + " AS TEXT)", d + "%s", true, false);
            }
            default:
                break;
        }
        if (field.startsWith("params.")) {
            return json(field.substring("params.".length()));
        }
        if (field.startsWith("metrics.")) {
            String key = field.substring("metrics.".length());
            String m = metric(key);
            return new Column(m, m, "CAST(" + m + " AS TEXT)", desc -> m + (desc ? " DESC" : ""), true, false, key);
        }
        // a bare name: the param where the row has it, else the metric
        List<String> path = Arrays.asList(field.split("\\.", -1));
        String jText = dialect.paramText(path);
        String m = metric(field);
        String number = "(CASE WHEN " + jText + " IS NOT NULL THEN " + dialect.paramNumber(path) + " ELSE " + m + " END)";
        String text = "(CASE WHEN " + jText + " IS NOT NULL THEN " + jText + " ELSE CAST(" + m + " AS TEXT) END)";
        return new Column(text, number, text, mixedOrder(number, text), true, true);
    }

    private Column text(String col, boolean nullable) {
        return new Column(col, null, col, dialect.ordered(col) + "%s", nullable, false);
    }

    private static Column numeric(String col, boolean nullable) {
        return new Column(col, col, "CAST(" + col + " AS TEXT)", col + "%s", nullable, false);
    }

    private Column json(String key) {
        List<String> path = Arrays.asList(key.split("\\.", -1));
        String number = dialect.paramNumber(path);
        String text = dialect.paramText(path);
        return new Column(text, number, text, mixedOrder(number, text), true, true);
    }

    /** Numbers (by value) before text (by code point); reversed whole when descending. */
    private String mixedOrder(String number, String text) {
        return "(" + number + " IS NULL)%s, " + number + "%s, " + dialect.ordered(text) + "%s";
    }

    /** A metric's latest value, off the metrics table's key; null where the row has none (or it is NaN). */
    private static String metric(String key) {
        return "(SELECT m.value FROM metrics m WHERE m.experiment_id = experiments.id AND m.metric_key = " + SqlDialect.literal(key) + ")";
    }

    private int count(Connection c, String from, String where, List<Object> binds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM " + from + where)) {
            bind(ps, binds);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private List<ExperimentView> select(Connection c, Select s) throws SQLException {
        int metricsColumn = ExperimentRows.COLUMNS.size() + 1;
        List<ExperimentView> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(s.sql())) {
            bind(ps, s.allBinds());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Experiment e = rows.read(rs);
                    out.add(new ExperimentView(e, rows.latestMetrics(e.id(), rs.getString(metricsColumn))));
                }
            }
        }
        return out;
    }

    private static void bind(PreparedStatement ps, List<Object> binds) throws SQLException {
        int i = 1;
        for (Object b : binds) {
            ps.setObject(i++, b);
        }
    }
}
