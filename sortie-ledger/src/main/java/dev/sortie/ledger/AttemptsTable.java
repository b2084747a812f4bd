package dev.sortie.ledger;

import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The {@code attempts} table: how each ended attempt of an experiment went (see V4__attempts.sql). */
final class AttemptsTable {
    /** Records the attempt an ended experiment row describes; a later end of the same attempt replaces it. */
    void ended(Connection c, Experiment e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO attempts (experiment_id, attempt, status, host, started_at, ended_at,"
                + " exit_code, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (experiment_id, attempt) DO UPDATE SET"
                + " status = excluded.status, host = excluded.host, started_at = excluded.started_at, ended_at = excluded.ended_at,"
                + " exit_code = excluded.exit_code, error = excluded.error")) {
            ps.setString(1, e.id());
            ps.setInt(2, e.attempt());
            ps.setString(3, ExperimentRows.status(e.status()));
            ps.setString(4, e.handle() == null || e.handle().launcher() || e.handle().host().isEmpty() ? null : e.handle().host());
            millis(ps, 5, e.startedAt());
            millis(ps, 6, e.endedAt());
            if (e.exitCode() == null) {
                ps.setNull(7, Types.INTEGER);
            } else {
                ps.setInt(7, e.exitCode());
            }
            ps.setString(8, e.error());
            ps.executeUpdate();
        }
    }

    List<AttemptRecord> list(Connection c, String experimentId) throws SQLException {
        List<AttemptRecord> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT attempt, status, host, started_at, ended_at, exit_code, error FROM attempts"
                + " WHERE experiment_id = ? ORDER BY attempt")) {
            ps.setString(1, experimentId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long started = rs.getLong(4);
                    Instant s = rs.wasNull() ? null : Instant.ofEpochMilli(started);
                    long ended = rs.getLong(5);
                    Instant en = rs.wasNull() ? null : Instant.ofEpochMilli(ended);
                    int code = rs.getInt(6);
                    Integer exit = rs.wasNull() ? null : code;
                    out.add(new AttemptRecord(rs.getInt(1), ExperimentRows.status(rs.getString(2)), rs.getString(3), s, en, exit, rs.getString(7)));
                }
            }
        }
        return out;
    }

    void clear(Connection c, String experimentId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM attempts WHERE experiment_id = ?")) {
            ps.setString(1, experimentId);
            ps.executeUpdate();
        }
    }

    private static void millis(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (t == null) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, t.toEpochMilli());
        }
    }
}
