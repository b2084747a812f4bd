package dev.sortie.ledger;

import dev.sortie.core.model.CodeRef;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLDataException;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps an {@link Experiment} to a row of the {@code experiments} table and back. The column list is kept here
 * once; statements bind and read columns by position in that order, which is faster than by name.
 *
 * <p>Times are stored as epoch milliseconds, so they come back truncated to the millisecond. A code ref or run
 * locator that is absent leaves all its columns null; {@code code_dirty} and {@code locator_type} are never null
 * when one is present, and tell the two apart. A locator is written as its host ({@code handle_host}), type and
 * value; the pid columns of the releases before locators are written null and read only from rows such a release
 * wrote (see {@link #legacyLocator}).
 */
final class ExperimentRows {
    /** Every column but {@code seq}, in binding order. {@code id} is first. */
    static final List<String> COLUMNS = List.of(
            "id", "name", "status", "executor", "command", "params",
            "code_base_commit", "code_snapshot_commit", "code_ref", "code_dirty",
            "task", "created_at", "started_at", "ended_at", "exit_code", "error", "attempt",
            "handle_host", "handle_supervisor_pid", "handle_supervisor_start", "handle_pid", "handle_process_start",
            "locator_type", "locator_value");

    /** The column list for a SELECT, matching {@link #read(ResultSet)}. */
    static final String SELECT_LIST = String.join(", ", COLUMNS);

    private final JsonColumns json;

    ExperimentRows(JsonColumns json) {
        this.json = json;
    }

    /** Binds every column but {@code id} from {@code index} on; returns the next free index. */
    int bindAllButId(PreparedStatement ps, int index, Experiment e) throws SQLException {
        int i = index;
        ps.setString(i++, e.name());
        ps.setString(i++, status(e.status()));
        ps.setString(i++, e.executor());
        ps.setString(i++, json.command(e.command()));
        ps.setString(i++, json.params(e.params()));
        CodeRef code = e.code();
        ps.setString(i++, code == null ? null : code.baseCommit());
        ps.setString(i++, code == null ? null : code.snapshotCommit());
        ps.setString(i++, code == null ? null : code.ref());
        setLong(ps, i++, code == null ? null : (code.dirty() ? 1L : 0L));
        ps.setString(i++, e.task());
        setInstant(ps, i++, e.createdAt());
        setInstant(ps, i++, e.startedAt());
        setInstant(ps, i++, e.endedAt());
        setLong(ps, i++, e.exitCode() == null ? null : e.exitCode().longValue());
        ps.setString(i++, e.error());
        ps.setInt(i++, e.attempt());
        RunLocator h = e.handle();
        ps.setString(i++, h == null ? null : h.host());
        for (int k = 0; k < 4; k++) {
            ps.setNull(i++, Types.BIGINT);
        }
        ps.setString(i++, h == null ? null : h.executorType());
        ps.setString(i++, h == null ? null : h.value());
        return i;
    }

    /** Binds all {@link #COLUMNS} from {@code index} on; returns the next free index. */
    int bindAll(PreparedStatement ps, int index, Experiment e) throws SQLException {
        ps.setString(index, e.id());
        return bindAllButId(ps, index + 1, e);
    }

    /** Reads the experiment from the current row of a result selected with {@link #SELECT_LIST}. */
    Experiment read(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        try {
            int i = 2;
            String name = rs.getString(i++);
            ExperimentStatus status = status(rs.getString(i++));
            String executor = rs.getString(i++);
            var command = json.command(rs.getString(i++));
            var params = json.params(rs.getString(i++));
            String baseCommit = rs.getString(i++);
            String snapshotCommit = rs.getString(i++);
            String ref = rs.getString(i++);
            Long dirty = getLong(rs, i++);
            CodeRef code = dirty == null ? null : new CodeRef(baseCommit, snapshotCommit, ref, dirty != 0);
            String task = rs.getString(i++);
            Instant createdAt = getInstant(rs, i++);
            Instant startedAt = getInstant(rs, i++);
            Instant endedAt = getInstant(rs, i++);
            Long exitCode = getLong(rs, i++);
            String error = rs.getString(i++);
            int attempt = rs.getInt(i++);
            String host = rs.getString(i++);
            Long supervisorPid = getLong(rs, i++);
            Instant supervisorStart = getInstant(rs, i++);
            Long pid = getLong(rs, i++);
            Instant processStart = getInstant(rs, i++);
            String locatorType = rs.getString(i++);
            String locatorValue = rs.getString(i++);
            RunLocator handle = locatorType != null ? new RunLocator(locatorType, host, locatorValue)
                    : legacyLocator(host, supervisorPid, supervisorStart, pid, processStart);
            return new Experiment(id, name, status, executor, command, params, code, task, createdAt, startedAt,
                    endedAt, exitCode == null ? null : exitCode.intValue(), error, attempt, handle);
        } catch (SQLDataException | IllegalArgumentException | NullPointerException e) {
            throw new SQLDataException("experiment " + id + " is stored in a form this version cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The locator of a row written by a release before locators (after the migration to them: an older sortie
     * process still running on the same ledger), as the migration makes it from the same columns: a launcher's
     * when no command was started, else the pids as that release recorded them. Null when it had no handle.
     */
    static RunLocator legacyLocator(String host, Long supervisorPid, Instant supervisorStart, Long pid, Instant processStart) {
        if (supervisorPid == null) {
            return null;
        }
        long commandPid = pid == null ? 0 : pid;
        String value = new ProcessLocation(supervisorPid, supervisorStart, commandPid, processStart).value();
        return new RunLocator(commandPid == 0 ? RunLocator.LAUNCHER : RunLocator.LEGACY, host, value);
    }

    /** The {@code latest_metrics} column of experiment {@code id}. */
    Map<String, Double> latestMetrics(String id, String stored) throws SQLException {
        try {
            return json.metrics(stored);
        } catch (SQLDataException e) {
            throw new SQLDataException("experiment " + id + " is stored in a form this version cannot read: " + e.getMessage(), e);
        }
    }

    /** Statuses are stored as the lower-case words users see and type. */
    static String status(ExperimentStatus status) {
        return status.label();
    }

    static ExperimentStatus status(String stored) {
        return ExperimentStatus.valueOf(stored.toUpperCase(Locale.ROOT));
    }

    static void setInstant(PreparedStatement ps, int index, Instant value) throws SQLException {
        setLong(ps, index, value == null ? null : value.toEpochMilli());
    }

    static void setLong(PreparedStatement ps, int index, Long value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, value);
        }
    }

    static Instant getInstant(ResultSet rs, int index) throws SQLException {
        Long millis = getLong(rs, index);
        return millis == null ? null : Instant.ofEpochMilli(millis);
    }

    static Long getLong(ResultSet rs, int index) throws SQLException {
        long v = rs.getLong(index);
        return rs.wasNull() ? null : v;
    }
}
