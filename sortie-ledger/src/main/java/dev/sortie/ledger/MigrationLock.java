package dev.sortie.ledger;

import dev.sortie.core.ledger.LedgerException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * An exclusive lock on a file next to the database, held while the schema is migrated, so two processes (or two
 * threads) opening a fresh ledger at once never both migrate it.
 *
 * <p>The lock is polled rather than waited on: within one JVM a second {@link FileChannel#lock()} on the same
 * file does not wait but throws {@link OverlappingFileLockException}, and polling handles both cases the same way
 * and with a deadline, so a stuck holder gives a clear error instead of a hang. Each waiter keeps its own
 * channel open until it holds the lock: on Linux closing any descriptor of the file would drop the locks this
 * process holds on it.
 */
final class MigrationLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MigrationLock.class.getName());
    private static final long POLL_MS = 20;

    private final FileChannel channel;
    private final FileLock lock;

    private MigrationLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static MigrationLock acquire(Path lockFile, Duration timeout) {
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new LedgerException("cannot create the ledger's lock file " + lockFile + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                try {
                    FileLock lock = channel.tryLock();
                    if (lock != null) {
                        return new MigrationLock(channel, lock);
                    }
                } catch (OverlappingFileLockException heldByAnotherThread) {
                    LOG.log(System.Logger.Level.DEBUG, "another thread of this process migrates the ledger; waiting: {0}", heldByAnotherThread);
                    // another thread of this process is migrating: wait like for another process
                }
                if (System.nanoTime() > deadline) {
                    throw new LedgerException("cannot migrate the ledger: another process has held " + lockFile
                            + " for more than " + timeout.toSeconds() + " s", null);
                }
                Thread.sleep(POLL_MS);
            }
        } catch (IOException e) {
            closeQuietly(channel);
            throw new LedgerException("cannot lock " + lockFile + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(channel);
            throw new LedgerException("cannot migrate the ledger: interrupted while waiting for " + lockFile, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "the migration lock file did not close: {0}", ignored);
            // nothing was written through it
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            LOG.log(System.Logger.Level.DEBUG, "the migration lock was not released (closing its file does): {0}", ignored);
            // closing the channel below releases it too
        }
        closeQuietly(channel);
    }
}
