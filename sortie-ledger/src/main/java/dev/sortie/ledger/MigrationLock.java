package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.util.HeldFileLock;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * An exclusive lock on a file next to the database, held while the schema is migrated, so two processes (or two
 * threads) opening a fresh ledger at once never both migrate it.
 *
 * <p>The lock is polled rather than waited on, so a stuck holder gives a clear error instead of a hang; another
 * thread of this process that holds it is waited for the same way as another process ({@link HeldFileLock}).
 */
final class MigrationLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MigrationLock.class.getName());
    private static final long POLL_MS = 20;

    private final HeldFileLock lock;

    private MigrationLock(HeldFileLock lock) {
        this.lock = lock;
    }

    static MigrationLock acquire(Path lockFile, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                Optional<HeldFileLock> held = HeldFileLock.tryAcquire(lockFile);
                if (held.isPresent()) {
                    return new MigrationLock(held.get());
                }
                if (System.nanoTime() > deadline) {
                    throw new LedgerException("cannot migrate the ledger: another process has held " + lockFile
                            + " for more than " + timeout.toSeconds() + " s", null);
                }
                Thread.sleep(POLL_MS);
            }
        } catch (IOException e) {
            throw new LedgerException("cannot lock " + lockFile + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LedgerException("cannot migrate the ledger: interrupted while waiting for " + lockFile, e);
        }
    }

    @Override
    public void close() {
        try {
            lock.close();
        } catch (IOException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "the migration lock was not released cleanly (its process's end releases it): {0}", ignored);
        }
    }
}
