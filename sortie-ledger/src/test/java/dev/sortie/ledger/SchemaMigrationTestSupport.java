package dev.sortie.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Reads a ledger file behind the ledger's back, to check what the schema migration left. */
final class SchemaMigrationTestSupport {
    private SchemaMigrationTestSupport() {
    }

    /** Every row of Flyway's history as "version:success". */
    static List<String> historyRows(Path file) throws SQLException {
        return query(file, "SELECT version || ':' || success FROM flyway_schema_history");
    }

    static List<String> query(Path file, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
