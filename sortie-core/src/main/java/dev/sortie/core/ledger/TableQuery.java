package dev.sortie.core.ledger;

import java.util.List;

/**
 * One page of the experiments table: the rows where every condition holds, ordered by one column, {@code limit} rows
 * from {@code offset}, and how many rows match in all. The one paged query of the {@link Ledger}: the server's list,
 * the web UI's table and {@code show} through the server ask it, and a ledger on a database answers it there.
 *
 * <p>The order, the same on every ledger: by {@code sortBy} (a built-in, {@code params.KEY}, {@code metrics.KEY}, or a
 * bare name: the param, else the metric), numbers by value before text by code point; rows without a value last, in
 * either direction; ties, and the whole order when {@code sortBy} is null, in creation order. {@code descending}
 * reverses everything but where the rows without a value go, ties included (newest first), so pages never overlap and
 * a database reads them off an index in either direction.
 *
 * @param sortBy null for the creation order (oldest first; newest first when descending)
 */
public record TableQuery(List<Condition> filters, String sortBy, boolean descending, int limit, int offset) {
    /** The built-in columns, as {@code sortie show} names them. */
    public static final List<String> BUILTINS = List.of("id", "name", "status", "executor", "created", "started", "ended",
            "duration", "exit_code", "attempt", "commit", "command", "error");

    public TableQuery {
        filters = List.copyOf(filters);
        if (limit < 0 || offset < 0) {
            throw new IllegalArgumentException("limit and offset must be 0 or more, not limit " + limit + " and offset " + offset);
        }
        if (sortBy != null && sortBy.isBlank()) {
            sortBy = null;
        }
    }

    /** The first {@code limit} experiments, oldest first, unfiltered. */
    public static TableQuery first(int limit) {
        return new TableQuery(List.of(), null, false, limit, 0);
    }

    /** This query with these conditions (each in show's filter language, e.g. {@code status=failed}) added. */
    public TableQuery where(String... conditions) {
        List<Condition> all = new java.util.ArrayList<>(filters);
        for (String c : conditions) {
            all.add(Condition.parse(c));
        }
        return new TableQuery(all, sortBy, descending, limit, offset);
    }

    public TableQuery sortedBy(String column, boolean desc) {
        return new TableQuery(filters, column, desc, limit, offset);
    }

    public TableQuery page(int from, int size) {
        return new TableQuery(filters, sortBy, descending, size, from);
    }
}
