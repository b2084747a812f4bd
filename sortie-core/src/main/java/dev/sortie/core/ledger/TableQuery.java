package dev.sortie.core.ledger;

import java.util.List;

/**
 * A page of the experiments table as the server's list asks for it: rows where every condition holds, sorted by
 * one column (a built-in, {@code params.X}, {@code metrics.X}, or a bare name: the param, else the metric), then
 * oldest first; {@code limit} rows from {@code offset}.
 *
 * @param sortBy null for the default order (oldest first)
 */
public record TableQuery(List<Condition> filters, String sortBy, boolean descending, int limit, int offset) {
    /** The built-in columns, as {@code sortie show} names them. */
    public static final List<String> BUILTINS = List.of("id", "name", "status", "executor", "created", "started", "ended",
            "duration", "exit_code", "attempt", "commit", "command", "error");

    public TableQuery {
        filters = List.copyOf(filters);
        if (limit < 0 || offset < 0) {
            throw new IllegalArgumentException("limit and offset must be 0 or more");
        }
    }
}
