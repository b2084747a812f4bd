package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A ledger's PostgreSQL database: one connection per ledger, shared by the threads of a process under a lock (as the
 * SQLite file's is), opened again on the next transaction after the server dropped it.
 *
 * <p>Transactions run at READ COMMITTED, PostgreSQL's default: each statement of the tables is a compare-and-set or
 * an upsert that decides on the row it writes, and the queue's claim locks the row it takes ({@code FOR UPDATE SKIP
 * LOCKED}). Reads run at REPEATABLE READ so the statements of one read see one snapshot. A transaction that fails with
 * a serialization failure or a deadlock is run again, as SQLite's busy ones are.
 */
final class PostgresDatabase implements Database {
    private static final System.Logger LOG = System.getLogger(PostgresDatabase.class.getName());
    private static final int MAX_ATTEMPTS = 6;
    private static final long MAX_BACKOFF_MS = 2_000;
    /** The advisory lock {@link #writeExclusive} holds: a fixed number, the same in every Sortie ("sortie" in ASCII). */
    private static final long INSERT_LOCK = 0x736f72746965L;
    private static final int CONNECT_TIMEOUT_S = 10;

    private final PostgresUrl url;
    /** Never logged nor put in a message; null when none was found (trust or peer authentication). */
    private final String password;
    private final ReentrantLock lock = new ReentrantLock();
    private Connection connection;
    private boolean closed;

    private PostgresDatabase(PostgresUrl url, String password) {
        this.url = url;
        this.password = password;
    }

    /** Connects (failing at once with why when it cannot). */
    static PostgresDatabase open(PostgresUrl url, String password) {
        PostgresDatabase db = new PostgresDatabase(url, password);
        db.lock.lock();
        try {
            db.connection = db.connect();
        } finally {
            db.lock.unlock();
        }
        return db;
    }

    private Connection connect() {
        Properties props = new Properties();
        props.setProperty("user", url.user());
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("ApplicationName", "sortie");
        props.setProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_S));
        props.setProperty("tcpKeepAlive", "true");
        props.putAll(url.options());
        try {
            Connection c = new org.postgresql.Driver().connect(url.jdbcUrl(), props);
            if (c == null) {
                throw new LedgerException("cannot open the ledger at " + url.redacted() + ": the PostgreSQL driver does not take this URL", null);
            }
            c.setAutoCommit(false);
            return c;
        } catch (SQLException e) {
            throw new LedgerException("cannot open the ledger at " + url.redacted() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public <T> T write(String what, SqlWork<T> work) {
        return run(what, null, false, work);
    }

    @Override
    public <T> T writeExclusive(String what, SqlWork<T> work) {
        return run(what, "SELECT pg_advisory_xact_lock(" + INSERT_LOCK + ")", false, work);
    }

    @Override
    public <T> T read(String what, SqlWork<T> work) {
        return run(what, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", true, work);
    }

    /**
     * @param rerunnable whether the work may run again on a new connection after the old one was lost: a read; a
     *        write may have been committed before the connection went, so it is not run twice
     */
    private <T> T run(String what, String first, boolean rerunnable, SqlWork<T> work) {
        lock.lock();
        try {
            if (closed) {
                throw new LedgerException("cannot " + what + ": the ledger is closed", null);
            }
            long backoff = 25;
            for (int attempt = 1; ; attempt++) {
                if (connection == null) {
                    connection = connect();
                }
                try {
                    return once(first, work);
                } catch (SQLException e) {
                    if (isConnectionLost(e)) {
                        // The server restarted, or dropped this connection: the next transaction connects again.
                        dropConnection();
                        if (rerunnable && attempt == 1) {
                            LOG.log(System.Logger.Level.INFO, "the connection to the ledger at {0} was lost ({1}); connecting again",
                                    url.redacted(), e.getMessage());
                            continue;
                        }
                        // Whether a commit in flight was applied is unknown: say so rather than run it twice.
                        throw new LedgerException("cannot " + what + ": the connection to the ledger at " + url.redacted()
                                + " was lost: " + e.getMessage(), e);
                    }
                    if (!SqlErrors.isBusy(e)) {
                        throw new LedgerException("cannot " + what + ": " + e.getMessage(), e);
                    }
                    if (attempt >= MAX_ATTEMPTS) {
                        throw new LedgerException("cannot " + what + ": the ledger at " + url.redacted()
                                + " kept failing on concurrent transactions (" + attempt + " tries): " + e.getMessage(), e);
                    }
                }
                sleep(what, backoff + ThreadLocalRandom.current().nextLong(backoff));
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            }
        } finally {
            lock.unlock();
        }
    }

    private <T> T once(String first, SqlWork<T> work) throws SQLException {
        boolean committed = false;
        try {
            if (first != null) {
                try (Statement s = connection.createStatement()) {
                    s.execute(first);
                }
            }
            T result = work.run(connection);
            connection.commit();
            committed = true;
            return result;
        } finally {
            if (!committed) {
                rollbackQuietly();
            }
        }
    }

    /** Connection failures (SQLSTATE class 08) and the server shutting down (57P01..57P03). */
    private static boolean isConnectionLost(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }

    private void rollbackQuietly() {
        try {
            if (connection != null && !connection.isClosed()) {
                connection.rollback();
            }
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "ROLLBACK after a failed transaction on {0}: {1}", url.redacted(), e.getMessage());
        }
    }

    private void dropConnection() {
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the lost connection to {0}: {1}", url.redacted(), e.getMessage());
        }
        connection = null;
    }

    private static void sleep(String what, long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LedgerException("cannot " + what + ": interrupted while waiting for the ledger", e);
        }
    }

    @Override
    public String where() {
        return url.redacted();
    }

    @Override
    public SqlDialect dialect() {
        return SqlDialect.POSTGRESQL;
    }

    @Override
    public DataSource dataSource() {
        return dataSource(url, password);
    }

    /** A data source on the database at {@code url}, logging in with {@code password} (null: none). */
    static DataSource dataSource(PostgresUrl url, String password) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(url.jdbcUrl());
        ds.setUser(url.user());
        if (password != null) {
            ds.setPassword(password);
        }
        ds.setApplicationName("sortie");
        ds.setConnectTimeout(CONNECT_TIMEOUT_S);
        return ds;
    }

    /** Nothing to hold: Flyway locks a PostgreSQL schema itself (an advisory lock) while it migrates it. */
    @Override
    public AutoCloseable lockForMigration(Duration timeout) {
        return () -> { };
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException e) {
            throw new LedgerException("cannot close the ledger at " + url.redacted() + ": " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }
}
