package dev.sortie.core.ledger;

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
        // views come oldest first; descending reverses the creation order the ties keep
        List<ExperimentView> matching = new ArrayList<>();
        for (ExperimentView v : views) {
            if (q.filters().stream().allMatch(c -> test(c, value(v, c.field(), now)))) {
                matching.add(v);
            }
        }
        if (q.descending()) {
            java.util.Collections.reverse(matching);
        }
        List<ExperimentView> rows = matching;
        if (q.sortBy() != null) {
            List<Map.Entry<Object, ExperimentView>> valued = new ArrayList<>();
            List<ExperimentView> without = new ArrayList<>();
            for (ExperimentView v : matching) {
                Object cell = value(v, q.sortBy(), now);
                if (cell == null) {
                    without.add(v);
                } else {
                    valued.add(Map.entry(cell, v));
                }
            }
            Comparator<Map.Entry<Object, ExperimentView>> byValue = (a, b) -> compare(a.getKey(), b.getKey());
            valued.sort(q.descending() ? byValue.reversed() : byValue); // stable: ties keep the creation order
            rows = new ArrayList<>(valued.stream().map(Map.Entry::getValue).toList());
            rows.addAll(without); // rows without the value last, either way
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
            return metric(v, field.substring("metrics.".length()));
        }
        return params.containsKey(field) ? params.get(field) : metric(v, field);
    }

    /** A metric's latest value; NaN is none (nothing to compare it with: a database keeps it as NULL). */
    private static Double metric(ExperimentView v, String key) {
        Double d = v.metrics().get(key);
        return d == null || d.isNaN() ? null : d;
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

    /** Numbers by value before text by code point (the order SQLite keeps, and the ledgers' SQL says on PostgreSQL). */
    static int compare(Object a, Object b) {
        boolean na = a instanceof Number;
        boolean nb = b instanceof Number;
        if (na && nb) {
            return Double.compare(((Number) a).doubleValue(), ((Number) b).doubleValue());
        }
        if (na != nb) {
            return na ? -1 : 1;
        }
        return String.valueOf(a).compareTo(String.valueOf(b));
    }

    /** A cell's number: only a number is one (a text param "0.5" compares as text, as it does in the databases). */
    private static Double number(Object v) {
        return v instanceof Number n ? n.doubleValue() : null;
    }
}
