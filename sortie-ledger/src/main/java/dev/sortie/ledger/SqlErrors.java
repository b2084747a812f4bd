package dev.sortie.ledger;

import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Classifies JDBC failures. SQLite reports result codes through {@link SQLException#getErrorCode()}
 * (sqlite-jdbc puts the primary code there); PostgreSQL reports SQLSTATEs, so both are checked.
 */
final class SqlErrors {
    private static final int SQLITE_BUSY = 5;
    private static final int SQLITE_LOCKED = 6;
    private static final int SQLITE_CONSTRAINT = 19;

    private SqlErrors() {
    }

    /** Another connection holds a lock we need: worth retrying the whole transaction. */
    static boolean isBusy(SQLException e) {
        for (SQLException s : chain(e)) {
            int primary = s.getErrorCode() & 0xff;
            if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED
                    || (s.getMessage() != null && s.getMessage().contains("SQLITE_BUSY"))) {
                return true;
            }
            // PostgreSQL: serialization failure, deadlock, lock not available
            String state = s.getSQLState();
            if ("40001".equals(state) || "40P01".equals(state) || "55P03".equals(state)) {
                return true;
            }
        }
        return false;
    }

    /** A unique, primary key or foreign key constraint refused the statement. */
    static boolean isConstraint(SQLException e) {
        for (SQLException s : chain(e)) {
            if ((s.getErrorCode() & 0xff) == SQLITE_CONSTRAINT) {
                return true;
            }
            String state = s.getSQLState();
            if (state != null && state.startsWith("23")) {
                return true;
            }
        }
        return false;
    }

    /** The exception and the SQLExceptions behind it (causes and batch "next" exceptions), nearest first. */
    private static List<SQLException> chain(SQLException e) {
        List<SQLException> out = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Throwable> todo = new ArrayDeque<>();
        todo.add(e);
        while (!todo.isEmpty() && out.size() < 16) {
            Throwable t = todo.poll();
            if (t == null || !seen.add(t)) {
                continue;
            }
            if (t instanceof SQLException s) {
                out.add(s);
                if (s.getNextException() != null) {
                    todo.add(s.getNextException());
                }
            }
            if (t.getCause() != null) {
                todo.add(t.getCause());
            }
        }
        return out;
    }
}
