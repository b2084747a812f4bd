package dev.sortie.ledger;

import java.nio.file.Path;
import java.util.Map;

/**
 * The ledger in a PostgreSQL database, for a team's shared experiments table: the same tables, migrations and
 * statements as {@link SqliteLedger}, several processes on several machines using it at once.
 */
public final class PostgresLedger extends JdbcLedger {
    private final PostgresUrl url;

    private PostgresLedger(PostgresDatabase db, PostgresUrl url) {
        super(db);
        this.url = url;
    }

    /**
     * Connects to the database at {@code url} and brings its schema up to date; the password is the URL's, else
     * {@code PGPASSWORD}'s, else the password file's ({@link PgPassword}).
     */
    public static PostgresLedger open(PostgresUrl url) {
        String home = System.getProperty("user.home");
        return open(url, System.getenv(), home == null ? null : Path.of(home));
    }

    /** As {@link #open(PostgresUrl)}, with the environment and home folder given (tests). */
    static PostgresLedger open(PostgresUrl url, Map<String, String> env, Path home) {
        String password = PgPassword.find(url, env, home).orElse(null);
        return new PostgresLedger(migrated(PostgresDatabase.open(url, password)), url);
    }

    /**
     * A JDBC data source on the database at {@code url}, with the password found as {@link #open(PostgresUrl)} finds
     * it: for tables kept beside the ledger's (the server's tokens).
     */
    public static javax.sql.DataSource dataSource(PostgresUrl url) {
        String home = System.getProperty("user.home");
        return PostgresDatabase.dataSource(url, PgPassword.find(url, System.getenv(), home == null ? null : Path.of(home)).orElse(null));
    }

    /** Where it is, without the password. */
    public PostgresUrl url() {
        return url;
    }

    @Override
    public String toString() {
        return "PostgresLedger[" + url.redacted() + "]";
    }
}
