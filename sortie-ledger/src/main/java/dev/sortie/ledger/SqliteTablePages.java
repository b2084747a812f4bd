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
import java.util.List;

/**
 * {@link dev.sortie.core.ledger.Ledger#tablePage} in SQLite's SQL: the filters, the sort and the page are worked out by
 * the database (params and latest metrics read from their JSON columns with json_extract), so a list over many
 * experiments reads one page of rows, not all of them. Same meaning as the in-memory default: numbers compare as
 * numbers and the rest as text, a row without the field matches only {@code !=}, rows without the sort value last.
 */
final class SqliteTablePages {
    private final ExperimentRows rows;

    SqliteTablePages(ExperimentRows rows) {
        this.rows = rows;
    }

    TablePage page(Connection c, TableQuery q, long nowMillis) throws SQLException {
        List<Object> whereBinds = new ArrayList<>();
        StringBuilder where = new StringBuilder();
        for (Condition cond : q.filters()) {
            where.append(where.length() == 0 ? " WHERE " : " AND ");
            where.append(condition(cond, nowMillis, whereBinds));
        }
        int total;
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM experiments" + where)) {
            bind(ps, whereBinds, 1);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                total = rs.getInt(1);
            }
        }
        List<Object> binds = new ArrayList<>(whereBinds);
        StringBuilder order = new StringBuilder(" ORDER BY ");
        if (q.sortBy() != null) {
            List<Object> sortBinds = new ArrayList<>();
            String e = expression(q.sortBy(), nowMillis, sortBinds);
            order.append('(').append(e).append(") IS NULL, ").append(e).append(q.descending() ? " DESC, " : ", ");
            binds.addAll(sortBinds);
            binds.addAll(sortBinds);
        }
        order.append("created_at, seq LIMIT ? OFFSET ?");
        binds.add((long) q.limit());
        binds.add((long) q.offset());
        int metricsColumn = ExperimentRows.COLUMNS.size() + 1;
        List<ExperimentView> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + ExperimentRows.SELECT_LIST + ", latest_metrics FROM experiments" + where + order)) {
            bind(ps, binds, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Experiment e = rows.read(rs);
                    out.add(new ExperimentView(e, rows.latestMetrics(e.id(), rs.getString(metricsColumn))));
                }
            }
        }
        return new TablePage(out, total);
    }

    private static String condition(Condition cond, long now, List<Object> binds) {
        List<Object> exprBinds = new ArrayList<>();
        String e = expression(cond.field(), now, exprBinds);
        String text = "CAST(" + e + " AS TEXT)";
        StringBuilder sql = new StringBuilder("(");
        binds.addAll(exprBinds);
        sql.append(cond.op().equals("!=") ? e + " IS NULL OR " : e + " IS NOT NULL AND ");
        if (cond.op().equals("~")) {
            binds.addAll(exprBinds);
            binds.add(cond.value());
            return sql.append("instr(").append(text).append(", ?) > 0)").toString();
        }
        String op = cond.op().equals("=") ? "=" : cond.op().equals("!=") ? "<>" : cond.op();
        Double number = cond.number();
        if (number != null) {
            binds.addAll(exprBinds);
            binds.addAll(exprBinds);
            binds.add(number);
            binds.addAll(exprBinds);
            binds.add(cond.value());
            return sql.append("CASE WHEN typeof(").append(e).append(") IN ('integer', 'real') THEN ").append(e).append(' ').append(op)
                    .append(" ? ELSE ").append(text).append(' ').append(op).append(" ? END)").toString();
        }
        binds.addAll(exprBinds);
        binds.add(cond.value());
        return sql.append(text).append(' ').append(op).append(" ?)").toString();
    }

    /** The SQL of a column; its parameters (JSON paths) are added to {@code binds} in the order they appear. */
    private static String expression(String field, long now, List<Object> binds) {
        switch (field) {
            case "id", "name", "status", "executor", "exit_code", "attempt", "error", "command":
                return field;
            case "created": return "created_at";
            case "started": return "started_at";
            case "ended": return "ended_at";
            case "commit": return "code_base_commit";
            case "duration": return "((COALESCE(ended_at, " + now + ") - started_at) / 1000.0)";
            default: break;
        }
        if (field.startsWith("params.")) {
            binds.add(paramPath(field.substring("params.".length())));
            return "json_extract(params, ?)";
        }
        if (field.startsWith("metrics.")) {
            binds.add(metricPath(field.substring("metrics.".length())));
            return "json_extract(latest_metrics, ?)";
        }
        binds.add(paramPath(field));
        binds.add(metricPath(field));
        return "COALESCE(json_extract(params, ?), json_extract(latest_metrics, ?))";
    }

    /** Params are nested JSON objects: {@code train.lr} is {@code $."train"."lr"}. */
    private static String paramPath(String key) {
        StringBuilder p = new StringBuilder("$");
        for (String part : key.split("\\.", -1)) {
            p.append(".\"").append(part.replace("\"", "")).append('"');
        }
        return p.toString();
    }

    /** Latest metrics are one flat object: a key with dots is one member. */
    private static String metricPath(String key) {
        return "$.\"" + key.replace("\"", "") + "\"";
    }

    private static void bind(PreparedStatement ps, List<Object> binds, int from) throws SQLException {
        int i = from;
        for (Object b : binds) {
            ps.setObject(i++, b);
        }
    }
}
