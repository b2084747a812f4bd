package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The ledger in a SQLite file (by default {@code .sortie/ledger.db}). Safe to share between threads, and to use
 * from several processes on the same file at once: see {@link LedgerDatabase} for how.
 */
public final class SqliteLedger extends JdbcLedger {
    /** The identity (device and inode on Unix) of the file opened, to notice it removed or replaced later. */
    private final Object fileKey;
    private final Path file;
    private final boolean readOnly;

    private SqliteLedger(LedgerDatabase db, boolean readOnly) {
        super(db);
        this.file = db.file();
        this.readOnly = readOnly;
        this.fileKey = fileKey(db.file());
    }

    /** Opens the ledger at {@code databaseFile}, creating it and its folders if needed, with its schema up to date. */
    public static SqliteLedger open(Path databaseFile) {
        return open(databaseFile, LedgerDatabase.DEFAULT_BUSY_TIMEOUT);
    }

    /** As {@link #open(Path)}, waiting at most {@code busyTimeout} at a time for another process's lock (tests). */
    static SqliteLedger open(Path databaseFile, Duration busyTimeout) {
        Path file = databaseFile.toAbsolutePath().normalize();
        try {
            Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new LedgerException("cannot create the folder of the ledger " + file + ": " + e.getMessage(), e);
        }
        return new SqliteLedger(migrated(LedgerDatabase.open(file, busyTimeout)), false);
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null; // checked again later; a file that cannot be read now cannot be compared
        }
    }

    /** Opens an existing ledger only to read it (its folder cannot be written): every write fails. */
    public static SqliteLedger openReadOnly(Path databaseFile) {
        return new SqliteLedger(LedgerDatabase.openReadOnly(databaseFile.toAbsolutePath().normalize(), LedgerDatabase.DEFAULT_BUSY_TIMEOUT), true);
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public Optional<String> detachedFromItsPath() {
        if (!Files.exists(file)) {
            return Optional.of("the ledger " + file + " was removed after this sortie opened it");
        }
        Object now = fileKey(file);
        if (fileKey != null && now != null && !fileKey.equals(now)) {
            return Optional.of("the ledger " + file + " was replaced by another file after this sortie opened it");
        }
        return Optional.empty();
    }
}
