package dev.sortie.server;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * Where the server's ledger lives, from {@code --db}: nothing (the SQLite file in the server's folder), a path to a
 * SQLite file (or {@code sqlite:PATH}), or a {@code postgresql://} URL. The one place a database URL becomes a
 * {@link Ledger} and a JDBC data source for the server's own tables.
 */
public record LedgerLocation(String url, Path sqliteFile) {

    /** {@code db} as given to {@code --db}, or null for {@code defaultFile}. */
    public static LedgerLocation parse(String db, Path defaultFile) {
        if (db == null || db.isBlank()) {
            return new LedgerLocation(null, defaultFile.toAbsolutePath().normalize());
        }
        String d = db.trim();
        if (d.startsWith("postgresql://") || d.startsWith("postgres://") || d.startsWith("jdbc:postgresql:")) {
            return new LedgerLocation(d, null);
        }
        if (d.contains("://")) {
            throw new ConfigException("--db '" + redact(d) + "': expected a postgresql:// URL or the path of a SQLite file");
        }
        String path = d.startsWith("sqlite:") ? d.substring("sqlite:".length()) : d;
        return new LedgerLocation(null, Path.of(path).toAbsolutePath().normalize());
    }

    public boolean postgres() {
        return sqliteFile == null;
    }

    /** Opens the ledger (creating a SQLite file and its schema if need be). */
    public Ledger open() {
        if (postgres()) {
            return dev.sortie.ledger.PostgresLedger.open(postgresUrl());
        }
        return SqliteLedger.open(sqliteFile);
    }

    /** A JDBC data source on the same database, for the server's own tables. */
    DataSource dataSource() {
        if (postgres()) {
            return dev.sortie.ledger.PostgresLedger.dataSource(postgresUrl());
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(10_000);
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        SQLiteDataSource ds = new SQLiteDataSource(config);
        ds.setUrl("jdbc:sqlite:" + sqliteFile);
        return ds;
    }

    private dev.sortie.ledger.PostgresUrl postgresUrl() {
        try {
            return dev.sortie.ledger.PostgresUrl.parse(url);
        } catch (RuntimeException e) {
            throw new ConfigException("--db " + describe() + ": " + e.getMessage());
        }
    }

    /** For messages: the file, or the URL without its password. */
    public String describe() {
        return postgres() ? redact(url) : sqliteFile.toString();
    }

    /** A URL with its user-info password replaced: URLs are printed in errors, passwords never are. */
    static String redact(String url) {
        return url.replaceAll("://([^:/@]+):[^@/]*@", "://$1:***@").replaceAll("(?i)(password=)[^&]*", "$1***");
    }
}
