package dev.sortie.ledger;

import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** The statements on the {@code artifacts} table. Each method runs inside a transaction its caller holds. */
final class ArtifactsTable {
    private static final String UPSERT = "INSERT INTO artifacts (experiment_id, kind, path, hash, size, saved_at)"
            + " VALUES (?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (experiment_id, kind, path) DO UPDATE SET hash = excluded.hash, size = excluded.size,"
            + " saved_at = excluded.saved_at";

    void delete(Connection c, String experimentId, dev.sortie.core.model.ArtifactKind kind) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM artifacts WHERE experiment_id = ? AND kind = ?")) {
            ps.setString(1, experimentId);
            ps.setString(2, kind(kind));
            ps.executeUpdate();
        }
    }

    void record(Connection c, String experimentId, Collection<ArtifactRecord> artifacts) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(UPSERT)) {
            for (ArtifactRecord a : artifacts) {
                ps.setString(1, experimentId);
                ps.setString(2, kind(a.kind()));
                ps.setString(3, a.path());
                ps.setString(4, a.hash());
                ps.setLong(5, a.size());
                ExperimentRows.setInstant(ps, 6, a.savedAt());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Artifacts before checkpoints, each by path. */
    List<ArtifactRecord> list(Connection c, String experimentId) throws SQLException {
        List<ArtifactRecord> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, path, hash, size, saved_at FROM artifacts"
                + " WHERE experiment_id = ? ORDER BY kind, path")) {
            ps.setString(1, experimentId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new ArtifactRecord(ArtifactKind.valueOf(rs.getString(1).toUpperCase(Locale.ROOT)),
                            rs.getString(2), rs.getString(3), rs.getLong(4), ExperimentRows.getInstant(rs, 5)));
                }
            }
        }
        return out;
    }

    void clear(Connection c, String experimentId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM artifacts WHERE experiment_id = ?")) {
            ps.setString(1, experimentId);
            ps.executeUpdate();
        }
    }

    private static String kind(ArtifactKind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }
}
