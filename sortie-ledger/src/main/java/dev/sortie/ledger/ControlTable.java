package dev.sortie.ledger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** The {@code control} table: named values shared by every process on the ledger. */
final class ControlTable {
    Optional<String> get(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT value FROM control WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        }
    }

    void set(Connection c, String name, String value, long now) throws SQLException {
        if (value == null) {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM control WHERE name = ?")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO control (name, value, updated_at) VALUES (?, ?, ?)"
                + " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")) {
            ps.setString(1, name);
            ps.setString(2, value);
            ps.setLong(3, now);
            ps.executeUpdate();
        }
    }
}
