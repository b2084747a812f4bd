package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** The statements on the {@code experiments} table. Each method runs inside a transaction its caller holds. */
final class ExperimentsTable {
    /** Oldest first; {@code seq} orders experiments created in the same millisecond as they were inserted. */
    private static final String ORDER = " ORDER BY created_at, seq";
    private static final String SELECT = "SELECT " + ExperimentRows.SELECT_LIST + " FROM experiments";
    private static final String INSERT = "INSERT INTO experiments (seq, " + ExperimentRows.SELECT_LIST + ") VALUES ("
            + "(SELECT COALESCE(MAX(seq), 0) + 1 FROM experiments), "
            + String.join(", ", Collections.nCopies(ExperimentRows.COLUMNS.size(), "?")) + ")";
    private static final String UPDATE = "UPDATE experiments SET "
            + ExperimentRows.COLUMNS.subList(1, ExperimentRows.COLUMNS.size()).stream().map(c -> c + " = ?")
                    .collect(Collectors.joining(", "))
            + " WHERE id = ? AND status = ?";
    /** How many prefix matches to fetch: one more than an ambiguity error names. */
    static final int PREFIX_CANDIDATES = 11;

    private final ExperimentRows rows;
    private final SqlDialect dialect;

    ExperimentsTable(JsonColumns json, SqlDialect dialect) {
        this.rows = new ExperimentRows(json);
        this.dialect = dialect;
    }

    /** Inserts each experiment, refusing (and so rolling back the caller's transaction) at the first clash. */
    void insertAll(Connection c, Collection<Experiment> experiments) throws SQLException {
        try (PreparedStatement clash = c.prepareStatement("SELECT id, name FROM experiments WHERE id = ? OR name = ?");
                PreparedStatement insert = c.prepareStatement(INSERT)) {
            for (Experiment e : experiments) {
                clash.setString(1, e.id());
                clash.setString(2, e.name());
                try (ResultSet rs = clash.executeQuery()) {
                    if (rs.next()) {
                        throw rs.getString(1).equals(e.id()) ? conflict("an experiment with id '" + e.id() + "' already exists")
                                : conflict("an experiment named '" + e.name() + "' already exists");
                    }
                }
                rows.bindAll(insert, 1, e);
                try {
                    insert.executeUpdate();
                } catch (SQLException ex) {
                    if (SqlErrors.isConstraint(ex)) {
                        // another writer got there between the check and the insert (PostgreSQL only)
                        throw new LedgerException("an experiment with id '" + e.id() + "' or named '" + e.name()
                                + "' already exists", ex, true);
                    }
                    throw ex;
                }
            }
        }
    }

    /**
     * The batch with each experiment of {@code bases} (by id) named {@code <base>-<n>}, n from the number of
     * experiments plus one up to the first free name, read inside the caller's write transaction.
     */
    List<Experiment> withDefaultNames(Connection c, List<Experiment> batch, java.util.Map<String, String> bases) throws SQLException {
        java.util.Set<String> taken = new java.util.HashSet<>();
        for (Experiment e : batch) {
            if (!bases.containsKey(e.id())) {
                taken.add(e.name());
            }
        }
        int next = count(c) + 1;
        List<Experiment> out = new ArrayList<>(batch.size());
        for (Experiment e : batch) {
            String base = bases.get(e.id());
            if (base == null) {
                out.add(e);
                continue;
            }
            while (taken.contains(base + "-" + next) || nameExists(c, base + "-" + next)) {
                next++;
            }
            String name = base + "-" + next++;
            taken.add(name);
            out.add(e.withName(name));
        }
        return out;
    }

    /** The compare-and-set: replaces the row only while its status is still {@code expected}. */
    boolean update(Connection c, Experiment e, ExperimentStatus expected) throws SQLException {
        try (PreparedStatement clash = c.prepareStatement("SELECT id FROM experiments WHERE name = ? AND id <> ?")) {
            clash.setString(1, e.name());
            clash.setString(2, e.id());
            try (ResultSet rs = clash.executeQuery()) {
                if (rs.next()) {
                    throw conflict("an experiment named '" + e.name() + "' already exists (" + rs.getString(1) + ")");
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement(UPDATE)) {
            int i = rows.bindAllButId(ps, 1, e);
            ps.setString(i++, e.id());
            ps.setString(i, ExperimentRows.status(expected));
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Claims the oldest queued experiment for {@code executor} inside the caller's write transaction. On SQLite
     * that transaction is BEGIN IMMEDIATE, so claims are serialised; on PostgreSQL the same statements run with
     * {@code FOR UPDATE SKIP LOCKED} appended to the select ({@link SqlDialect#claimLock()}), so workers skip each other's
     * rows instead of waiting. The status compare-and-set makes a claim exactly-once either way.
     */
    Optional<Experiment> claimNext(Connection c, String executor, dev.sortie.core.model.RunLocator handle, java.time.Instant now)
            throws SQLException {
        List<Experiment> next = query(c, SELECT + " WHERE status = ? AND (executor = ? OR executor = '')" + ORDER + " LIMIT 1" + dialect.claimLock(),
                ExperimentRows.status(ExperimentStatus.QUEUED), executor);
        if (next.isEmpty()) {
            return Optional.empty();
        }
        Experiment q = next.get(0);
        Experiment claimed = new Experiment(q.id(), q.name(), ExperimentStatus.RUNNING, executor, q.command(), q.params(), q.code(),
                q.task(), q.createdAt(), now, null, null, null, q.attempt(), handle);
        return update(c, claimed, ExperimentStatus.QUEUED) ? Optional.of(claimed) : Optional.empty();
    }

    /** The experiment whose id is {@code idOrName}, else the one so named. */
    Optional<Experiment> findExact(Connection c, String idOrName) throws SQLException {
        List<Experiment> found = query(c, SELECT + " WHERE id = ? OR name = ?", idOrName, idOrName);
        return found.stream().filter(e -> e.id().equals(idOrName)).findFirst().or(() -> found.stream().findFirst());
    }

    /** Experiments whose id starts with {@code prefix}, oldest first, at most {@link #PREFIX_CANDIDATES}. */
    List<Experiment> findByIdPrefix(Connection c, String prefix) throws SQLException {
        // substr rather than LIKE: LIKE is case-insensitive in SQLite and treats '_' and '%' as wildcards.
        try (PreparedStatement ps = c.prepareStatement(
                SELECT + " WHERE substr(id, 1, ?) = ?" + ORDER + " LIMIT " + PREFIX_CANDIDATES)) {
            ps.setInt(1, prefix.length());
            ps.setString(2, prefix);
            return read(ps);
        }
    }

    List<Experiment> list(Connection c) throws SQLException {
        return query(c, SELECT + ORDER);
    }

    /** Every experiment with its latest metric values, oldest first, in one query. */
    List<ExperimentView> views(Connection c) throws SQLException {
        List<ExperimentView> out = new ArrayList<>();
        int metricsColumn = ExperimentRows.COLUMNS.size() + 1;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT " + ExperimentRows.SELECT_LIST + ", latest_metrics FROM experiments" + ORDER);
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Experiment e = rows.read(rs);
                out.add(new ExperimentView(e, rows.latestMetrics(e.id(), rs.getString(metricsColumn))));
            }
        }
        return out;
    }

    List<Experiment> listByStatus(Connection c, Collection<ExperimentStatus> statuses) throws SQLException {
        List<String> labels = statuses.stream().distinct().map(ExperimentRows::status).collect(Collectors.toList());
        if (labels.isEmpty()) {
            return List.of();
        }
        String in = String.join(", ", Collections.nCopies(labels.size(), "?"));
        return query(c, SELECT + " WHERE status IN (" + in + ")" + ORDER, labels.toArray(new String[0]));
    }

    boolean nameExists(Connection c, String name) throws SQLException {
        return exists(c, "SELECT 1 FROM experiments WHERE name = ?", name);
    }

    int count(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM experiments");
                java.sql.ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        }
    }

    int countByStatus(Connection c, ExperimentStatus status) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM experiments WHERE status = ?")) {
            ps.setString(1, ExperimentRows.status(status));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    boolean idExists(Connection c, String id) throws SQLException {
        return exists(c, "SELECT 1 FROM experiments WHERE id = ?", id);
    }

    boolean delete(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM experiments WHERE id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate() > 0;
        }
    }

    private static boolean exists(Connection c, String sql, String arg) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private List<Experiment> query(Connection c, String sql, String... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            return read(ps);
        }
    }

    private List<Experiment> read(PreparedStatement ps) throws SQLException {
        List<Experiment> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rows.read(rs));
            }
        }
        return out;
    }

    private static LedgerException conflict(String message) {
        return new LedgerException(message, null, true);
    }
}
