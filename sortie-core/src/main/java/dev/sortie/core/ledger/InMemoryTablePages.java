package dev.sortie.core.ledger;

import dev.sortie.core.metrics.MetricLineParser;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** {@link Ledger#tablePage} over rows already read: for ledgers that cannot filter and sort in their database. */
final class InMemoryTablePages {
    private InMemoryTablePages() {
    }

    static TablePage page(List<ExperimentView> views, TableQuery q, Instant now) {
        List<ExperimentView> rows = new ArrayList<>();
        for (ExperimentView v : views) {
            if (q.filters().stream().allMatch(c -> test(c, value(v, c.field(), now)))) {
                rows.add(v);
            }
        }
        if (q.sortBy() != null) {
            Comparator<ExperimentView> cmp = (a, b) -> compare(value(a, q.sortBy(), now), value(b, q.sortBy(), now));
            Comparator<ExperimentView> ordered = q.descending() ? cmp.reversed() : cmp;
            rows.sort((a, b) -> {
                boolean na = value(a, q.sortBy(), now) == null;
                boolean nb = value(b, q.sortBy(), now) == null;
                return na != nb ? (na ? 1 : -1) : ordered.compare(a, b); // rows without the value last, either way
            });
        }
        int from = Math.min(q.offset(), rows.size());
        int to = (int) Math.min((long) from + q.limit(), rows.size());
        return new TablePage(rows.subList(from, to), rows.size());
    }

    /** The value of a column: built-ins, {@code params.X}, {@code metrics.X}, or a bare name (the param, else the metric). */
    static Object value(ExperimentView v, String field, Instant now) {
        Experiment e = v.experiment();
        switch (field) {
            case "id": return e.id();
            case "name": return e.name();
            case "status": return e.status().label();
            case "executor": return e.executor();
            case "created": return e.createdAt().toEpochMilli();
            case "started": return e.startedAt() == null ? null : e.startedAt().toEpochMilli();
            case "ended": return e.endedAt() == null ? null : e.endedAt().toEpochMilli();
            case "duration": {
                Duration d = e.duration(now);
                return d == null ? null : d.toMillis() / 1000.0;
            }
            case "exit_code": return e.exitCode();
            case "attempt": return e.attempt();
            case "commit": return e.code() == null ? null : e.code().baseCommit();
            case "command": return e.command().display();
            case "error": return e.error();
            default: break;
        }
        Map<String, Object> params = e.params().flatten();
        if (field.startsWith("params.")) {
            return params.get(field.substring("params.".length()));
        }
        if (field.startsWith("metrics.")) {
            return v.metrics().get(field.substring("metrics.".length()));
        }
        return params.containsKey(field) ? params.get(field) : v.metrics().get(field);
    }

    static boolean test(Condition c, Object cell) {
        if (cell == null) {
            return c.op().equals("!=");
        }
        if (c.op().equals("~")) {
            return String.valueOf(cell).contains(c.value());
        }
        Double a = number(cell);
        Double b = c.number();
        int r = a != null && b != null ? Double.compare(a, b) : String.valueOf(cell).compareTo(c.value());
        return switch (c.op()) {
            case "=" -> r == 0;
            case "!=" -> r != 0;
            case "<" -> r < 0;
            case "<=" -> r <= 0;
            case ">" -> r > 0;
            default -> r >= 0;
        };
    }

    static int compare(Object a, Object b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        Double x = number(a);
        Double y = number(b);
        return x != null && y != null ? Double.compare(x, y) : String.valueOf(a).compareTo(String.valueOf(b));
    }

    private static Double number(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        return v instanceof String s ? MetricLineParser.number(s) : null;
    }
}
