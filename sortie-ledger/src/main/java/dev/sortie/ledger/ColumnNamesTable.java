package dev.sortie.ledger;

import dev.sortie.core.ledger.TableColumns;
import dev.sortie.core.params.Params;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The table {@code column_names} (V9): each param key of the experiments and each DVC stage they ran, with how many
 * experiments use it and where it first appears (the oldest such experiment by {@code created_at, seq}, and the key's
 * place in its params), kept in the same transaction as the rows. So {@code sortie show}'s default columns (every param
 * in order of first appearance) are one small read instead of every row's JSON; metric names come off the metrics
 * table's index.
 */
final class ColumnNamesTable {
    static final String PARAM = "param";
    static final String STAGE = "stage";
    static final String TABLE = "CREATE TABLE column_names ("
            + " kind             TEXT    NOT NULL,"
            + " name             TEXT    NOT NULL,"
            + " first_created_at BIGINT  NOT NULL,"
            + " first_seq        BIGINT  NOT NULL,"
            + " position         INTEGER NOT NULL,"
            + " uses             BIGINT  NOT NULL,"
            + " PRIMARY KEY (kind, name)"
            + " )";
    private static final String EARLIER = "(excluded.first_created_at < column_names.first_created_at OR (excluded.first_created_at"
            + " = column_names.first_created_at AND excluded.first_seq < column_names.first_seq))";
    private static final String UPSERT = "INSERT INTO column_names (kind, name, first_created_at, first_seq, position, uses)"
            + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET uses = column_names.uses + excluded.uses,"
            + " position = CASE WHEN " + EARLIER + " THEN excluded.position ELSE column_names.position END,"
            + " first_seq = CASE WHEN " + EARLIER + " THEN excluded.first_seq ELSE column_names.first_seq END,"
            + " first_created_at = CASE WHEN " + EARLIER + " THEN excluded.first_created_at ELSE column_names.first_created_at END";
    /** The distinct metric keys, one index seek each (a loose index scan), not every experiment's metrics read. */
    private static final String METRIC_KEYS = "WITH RECURSIVE k(name) AS (SELECT MIN(metric_key) FROM metrics UNION ALL"
            + " SELECT (SELECT MIN(metric_key) FROM metrics WHERE metric_key > k.name) FROM k WHERE k.name IS NOT NULL)"
            + " SELECT name FROM k WHERE name IS NOT NULL";

    /** The stored text of an experiment's params and task, and its place in the creation order. */
    record Row(String params, String task, long createdAt, long seq) {
        boolean sameNames(Row other) {
            return other != null && Objects.equals(params, other.params) && Objects.equals(task, other.task);
        }
    }

    /** A name of a row: kind, name, and its place among the row's names. */
    private record Name(String kind, String name, int position) {
    }

    private final JsonColumns json;

    ColumnNamesTable(JsonColumns json) {
        this.json = json;
    }

    /** The row of experiment {@code id} as it is now; null when there is none. */
    Row row(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT params, task, created_at, seq FROM experiments WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4)) : null;
            }
        }
    }

    /** Counts the names of a row just written. */
    void add(Connection c, Row row) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(UPSERT)) {
            for (Name n : inLockOrder(names(row))) {
                bind(ps, n.kind, n.name, row.createdAt, row.seq, n.position, 1);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Uncounts the names of a row deleted or rewritten; a name whose first row it was moves to the next oldest that has it. */
    void remove(Connection c, Row row) throws SQLException {
        List<Name> gone = names(row);
        if (gone.isEmpty()) {
            return;
        }
        try (PreparedStatement dec = c.prepareStatement("UPDATE column_names SET uses = uses - 1 WHERE kind = ? AND name = ?")) {
            for (Name n : inLockOrder(gone)) {
                dec.setString(1, n.kind);
                dec.setString(2, n.name);
                dec.addBatch();
            }
            dec.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM column_names WHERE uses <= 0")) {
            ps.executeUpdate();
        }
        Map<String, Name> moved = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, name FROM column_names WHERE first_created_at = ? AND first_seq = ?")) {
            ps.setLong(1, row.createdAt);
            ps.setLong(2, row.seq);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    moved.put(rs.getString(1) + "\0" + rs.getString(2), new Name(rs.getString(1), rs.getString(2), 0));
                }
            }
        }
        if (moved.isEmpty()) {
            return;
        }
        // rare (the oldest user of a name removed or changed): walk the rows oldest first until each has a new first
        try (PreparedStatement scan = c.prepareStatement("SELECT params, task, created_at, seq FROM experiments ORDER BY created_at, seq");
                PreparedStatement set = c.prepareStatement("UPDATE column_names SET first_created_at = ?, first_seq = ?, position = ?"
                        + " WHERE kind = ? AND name = ?");
                ResultSet rs = scan.executeQuery()) {
            while (!moved.isEmpty() && rs.next()) {
                Row r = new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4));
                for (Name n : names(r)) {
                    if (moved.remove(n.kind + "\0" + n.name) != null) {
                        bind(set, r.createdAt, r.seq, n.position, n.kind, n.name);
                        set.executeUpdate();
                    }
                }
            }
        }
    }

    /** The table's columns: params in order of first appearance, metrics in code-point order, whether any stage ran. */
    TableColumns columns(Connection c) throws SQLException {
        List<String> params = new ArrayList<>();
        boolean stages = false;
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, name FROM column_names ORDER BY first_created_at, first_seq, position");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if (rs.getString(1).equals(PARAM)) {
                    params.add(rs.getString(2));
                } else {
                    stages = true;
                }
            }
        }
        TreeSet<String> metrics = new TreeSet<>(); // Java's order, whatever the database's collation
        try (PreparedStatement ps = c.prepareStatement(METRIC_KEYS); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                metrics.add(rs.getString(1));
            }
        }
        return new TableColumns(params, List.copyOf(metrics), stages);
    }

    /** Fills the table from every experiment (V9 on a ledger that has some), one read in creation order; returns how many names. */
    int fillAll(Connection c) throws SQLException {
        Map<String, Object[]> all = new LinkedHashMap<>(); // kind\0name -> {kind, name, created, seq, position, uses}
        try (PreparedStatement scan = c.prepareStatement("SELECT params, task, created_at, seq FROM experiments ORDER BY created_at, seq");
                ResultSet rs = scan.executeQuery()) {
            while (rs.next()) {
                Row r = new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4));
                for (Name n : names(r)) {
                    Object[] v = all.computeIfAbsent(n.kind + "\0" + n.name, k -> new Object[] {n.kind, n.name, r.createdAt, r.seq, n.position, 0L});
                    v[5] = (Long) v[5] + 1;
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement(UPSERT)) {
            for (Object[] v : all.values()) {
                bind(ps, v);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        return all.size();
    }

    private List<Name> names(Row row) throws SQLException {
        List<Name> out = new ArrayList<>();
        if (row == null) {
            return out;
        }
        Params params = json.params(row.params);
        int i = 0;
        for (String key : params.flatten().keySet()) {
            out.add(new Name(PARAM, key, i++));
        }
        String stage = TableColumns.stageOf(row.task);
        if (stage != null) {
            out.add(new Name(STAGE, stage, 0));
        }
        return out;
    }

    /**
     * The names in key order: two transactions writing the same names (PostgreSQL locks each row it upserts) take their
     * rows in one order, so neither waits for a row the other holds while holding one it wants.
     */
    private static List<Name> inLockOrder(List<Name> names) {
        List<Name> sorted = new ArrayList<>(names);
        sorted.sort(java.util.Comparator.comparing(Name::kind).thenComparing(Name::name));
        return sorted;
    }

    private static void bind(PreparedStatement ps, Object... values) throws SQLException {
        for (int i = 0; i < values.length; i++) {
            ps.setObject(i + 1, values[i]);
        }
    }
}
