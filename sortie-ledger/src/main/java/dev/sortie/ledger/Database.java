package dev.sortie.ledger;

import javax.sql.DataSource;

/**
 * Where a ledger's rows live, and the only place that begins and ends its transactions: a SQLite file
 * ({@link LedgerDatabase}) or a PostgreSQL database ({@link PostgresDatabase}). The tables' statements are the same
 * on both; what differs is said here.
 */
interface Database extends AutoCloseable {
    /** Runs {@code work} in a write transaction; {@code what} completes "cannot ...". */
    <T> T write(String what, SqlWork<T> work);

    /**
     * As {@link #write}, with every other such transaction on the same database waiting for this one: for the
     * inserts, which number rows ({@code seq}) and names ({@code <base>-<n>}) from what is there. SQLite's write
     * transactions are all exclusive already; PostgreSQL takes a transaction-scoped advisory lock.
     */
    <T> T writeExclusive(String what, SqlWork<T> work);

    /** Runs {@code work} in a read transaction, so several queries see one snapshot. */
    <T> T read(String what, SqlWork<T> work);

    /** Names the database in messages: a file path, or a PostgreSQL URL without its password. */
    String where();

    SqlDialect dialect();

    /** A data source with this database's settings, for Flyway to open its own connections with. */
    DataSource dataSource();

    /**
     * Held while the schema is migrated so that two processes never both migrate it: a lock file beside a SQLite
     * file; nothing on PostgreSQL, where Flyway takes an advisory lock of its own.
     */
    AutoCloseable lockForMigration(java.time.Duration timeout);

    @Override
    void close();
}
