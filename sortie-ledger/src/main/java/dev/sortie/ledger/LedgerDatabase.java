package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The ledger's one SQLite connection, shared by the threads of a process under a lock, and the only place that
 * starts and ends transactions.
 *
 * <p>Several processes use the same file at once (a {@code sortie run} writing metrics while a
 * {@code sortie show} reads), so: WAL mode, where readers never block the writer nor the writer readers; a busy
 * timeout, so a writer waits for another one instead of failing; write transactions that begin with
 * {@code BEGIN IMMEDIATE}, so they take the write lock up front and never need to upgrade a read lock (an
 * upgrade that SQLite refuses at once with SQLITE_BUSY, without waiting); and, as a last line of defence, the
 * whole transaction retried when SQLite still answers SQLITE_BUSY.
 *
 * <p>Transactions are begun and ended with explicit statements while the JDBC connection stays in auto-commit
 * mode: sqlite-jdbc's own transaction handling begins the next transaction right after each commit, which
 * with IMMEDIATE mode would hold the write lock between calls.
 */
final class LedgerDatabase implements Database {
    private static final System.Logger LOG = System.getLogger(LedgerDatabase.class.getName());
    /** How long a statement waits for another process's lock before SQLite gives up with SQLITE_BUSY. */
    static final Duration DEFAULT_BUSY_TIMEOUT = Duration.ofSeconds(30);
    /** Attempts at a transaction that keeps failing with SQLITE_BUSY after the busy timeout. */
    private static final int MAX_ATTEMPTS = 6;
    private static final long MAX_BACKOFF_MS = 2_000;

    private final Path file;
    private final Duration busyTimeout;
    private final Connection connection;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean closed;

    private LedgerDatabase(Path file, Duration busyTimeout, Connection connection) {
        this.file = file;
        this.busyTimeout = busyTimeout;
        this.connection = connection;
    }

    /** Opens (creating if needed) the database file and switches it to WAL mode. */
    /** SQLite says only "unable to open database file" where its folder cannot be written; say that it cannot. */
    private static String whyNotWritable(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !java.nio.file.Files.isDirectory(dir) || java.nio.file.Files.isWritable(dir)) {
            return "";
        }
        try {
            java.nio.file.Files.delete(java.nio.file.Files.createTempFile(dir, ".write-probe", ".tmp"));
            return "";
        } catch (java.nio.file.FileSystemException e) {
            return " (" + dir + " cannot be written: " + (e.getReason() != null ? e.getReason() : e.getMessage()) + ")";
        } catch (java.io.IOException e) {
            return " (" + dir + " cannot be written: " + e.getMessage() + ")";
        }
    }

    static LedgerDatabase open(Path file, Duration busyTimeout) {
        Connection connection;
        try {
            connection = config(busyTimeout).createConnection(url(file));
        } catch (SQLException e) {
            throw new LedgerException("cannot open the ledger at " + file + ": " + e.getMessage() + whyNotWritable(file), e);
        }
        LedgerDatabase db = new LedgerDatabase(file, busyTimeout, connection);
        try {
            // WAL is a property of the file: this only changes something the first time. Outside a
            // transaction, as SQLite requires; the busy timeout covers other processes opening it at once.
            // Where the file system cannot do WAL (some network mounts) SQLite keeps its rollback journal and
            // says so in the answer, which is not an error: everything still works, only readers then wait
            // for writers.
            db.outsideTransaction("switch the ledger at " + file + " to WAL mode", c -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA journal_mode = WAL")) {
                    return rs.next() ? rs.getString(1) : null;
                }
            });
        } catch (RuntimeException e) {
            db.close();
            throw e;
        }
        return db;
    }

    /**
     * Opens the database only to read it, for a folder that cannot be written (a read-only mount): SQLite's
     * read-only mode first, which still sees the last commits in the -wal file but needs its -shm file to exist; else
     * as an immutable file (nothing else can write to a read-only mount; without the -shm a WAL cannot be read).
     */
    static LedgerDatabase openReadOnly(Path file, Duration busyTimeout) {
        SQLException first = null;
        for (String how : new String[] {"mode=ro", "immutable=1"}) {
            SQLiteConfig config = config(busyTimeout);
            config.setReadOnly(true);
            config.setOpenMode(org.sqlite.SQLiteOpenMode.OPEN_URI);
            Connection connection = null;
            try {
                connection = config.createConnection("jdbc:sqlite:file:" + file + "?" + how);
                try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master")) {
                    rs.next();
                }
                return new LedgerDatabase(file, busyTimeout, connection);
            } catch (SQLException e) {
                LOG.log(System.Logger.Level.DEBUG, "the ledger {0} did not open read-only with {1}: {2}", file, how, e.getMessage());
                first = first == null ? e : first;
                if (connection != null) {
                    try {
                        connection.close();
                    } catch (SQLException ignored) {
                        // it did not open: nothing to keep
                    }
                }
            }
        }
        throw new LedgerException("cannot open the ledger at " + file + " to read it: " + first.getMessage(), first);
    }

    /** Connection settings, shared with the connections Flyway opens for a migration. */
    private static SQLiteConfig config(Duration busyTimeout) {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout((int) Math.min(Integer.MAX_VALUE, busyTimeout.toMillis()));
        config.enforceForeignKeys(true);
        // In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, which for an
        // experiments ledger is worth the much cheaper commits (no fsync per metrics batch).
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        return config;
    }

    @Override
    public SQLiteDataSource dataSource() {
        SQLiteDataSource ds = new SQLiteDataSource(config(busyTimeout));
        ds.setUrl(url(file));
        return ds;
    }

    private static String url(Path file) {
        return "jdbc:sqlite:" + file;
    }

    Path file() {
        return file;
    }

    @Override
    public String where() {
        return file.toString();
    }

    @Override
    public SqlDialect dialect() {
        return SqlDialect.SQLITE;
    }

    @Override
    public AutoCloseable lockForMigration(Duration timeout) {
        return MigrationLock.acquire(file.resolveSibling(file.getFileName() + ".lock"), timeout);
    }

    /** Runs {@code work} in a write transaction ({@code BEGIN IMMEDIATE}); {@code what} completes "cannot ...". */
    @Override
    public <T> T write(String what, SqlWork<T> work) {
        return run(what, "BEGIN IMMEDIATE", work);
    }

    /** The same as {@link #write}: BEGIN IMMEDIATE already keeps every other writer out. */
    @Override
    public <T> T writeExclusive(String what, SqlWork<T> work) {
        return write(what, work);
    }

    /** Runs {@code work} in a read transaction, so several queries see one snapshot. */
    @Override
    public <T> T read(String what, SqlWork<T> work) {
        return run(what, "BEGIN", work);
    }

    /** Runs {@code work} with no transaction around it (pragmas). */
    <T> T outsideTransaction(String what, SqlWork<T> work) {
        return run(what, null, work);
    }

    private <T> T run(String what, String begin, SqlWork<T> work) {
        lock.lock();
        try {
            if (closed) {
                throw new LedgerException("cannot " + what + ": the ledger is closed", null);
            }
            long backoff = 25;
            for (int attempt = 1; ; attempt++) {
                try {
                    return once(begin, work);
                } catch (SQLException e) {
                    if (!SqlErrors.isBusy(e)) {
                        throw new LedgerException("cannot " + what + ": " + e.getMessage(), e);
                    }
                    if (attempt >= MAX_ATTEMPTS) {
                        throw new LedgerException("cannot " + what + ": the ledger at " + file
                                + " stayed locked by another process (" + attempt + " tries): " + e.getMessage(), e);
                    }
                }
                sleep(what, backoff + ThreadLocalRandom.current().nextLong(backoff));
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            }
        } finally {
            lock.unlock();
        }
    }

    private <T> T once(String begin, SqlWork<T> work) throws SQLException {
        if (begin == null) {
            return work.run(connection);
        }
        execute(begin);
        boolean committed = false;
        try {
            T result = work.run(connection);
            execute("COMMIT");
            committed = true;
            return result;
        } finally {
            if (!committed) {
                rollbackQuietly();
            }
        }
    }

    private void execute(String sql) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute(sql);
        }
    }

    private void rollbackQuietly() {
        try {
            execute("ROLLBACK");
        } catch (SQLException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "ROLLBACK after a failed transaction: {0}", ignored);
            // SQLite already rolled back (some errors end the transaction themselves); nothing is left open.
        }
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
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            connection.close();
        } catch (SQLException e) {
            throw new LedgerException("cannot close the ledger at " + file + ": " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }
}
