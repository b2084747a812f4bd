package dev.sortie.core.util;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * An exclusive OS lock on a file (fcntl), held until {@link #close()} or until its process dies, SIGKILL included:
 * a killed sortie never leaves one held. The lock file is made, with its folder, when missing, and never deleted
 * (deleting it would let a second process lock a new file of the same name while the first still holds the old).
 *
 * <p>The OS lock is the process's, not the thread's, and on Linux closing ANY descriptor of the file drops every lock
 * this process holds on it: a second thread that merely opened the file to try the lock, and closed it when refused,
 * silently freed the first thread's hold for other processes. So threads of this process take turns here first
 * ({@link #HELD}, the paths this process holds), and only the thread whose turn it is opens the file at all.
 */
public final class HeldFileLock implements AutoCloseable {
    /**
     * The lock files this process holds or is taking, by absolute path; guarded by its own monitor. Per process
     * because the OS lock is (see above): it mirrors the JVM's own table of the process's file locks.
     */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    /** Closed already: a second close must not give back a turn another thread has taken since. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private HeldFileLock(Path key, FileChannel channel, FileLock lock) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Blocks until this process holds the lock of {@code file} (after any other thread of it that holds it). */
    public static HeldFileLock acquire(Path file) throws IOException {
        Path key = key(file);
        synchronized (HELD) {
            while (HELD.contains(key)) {
                try {
                    HELD.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for the lock of " + file);
                }
            }
            HELD.add(key);
        }
        return lockOrGiveBack(key, FileChannel::lock);
    }

    /** The lock of {@code file} if no process (and no other thread of this one) holds it now; empty otherwise. */
    public static Optional<HeldFileLock> tryAcquire(Path file) throws IOException {
        Path key = key(file);
        synchronized (HELD) {
            if (!HELD.add(key)) {
                return Optional.empty(); // another thread of this process holds it: as taken as another process's
            }
        }
        return Optional.ofNullable(lockOrGiveBack(key, FileChannel::tryLock));
    }

    private interface Locking {
        FileLock lock(FileChannel c) throws IOException;
    }

    /** Locks {@code key} with this process's turn held; gives the turn back unless it returns a lock. */
    private static HeldFileLock lockOrGiveBack(Path key, Locking how) throws IOException {
        FileChannel c = null;
        try {
            Path parent = key.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            c = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = how.lock(c);
            if (l != null) {
                return new HeldFileLock(key, c, l);
            }
            c.close();
            giveBack(key);
            return null;
        } catch (IOException | RuntimeException | Error e) {
            try {
                if (c != null) {
                    c.close();
                }
            } finally {
                giveBack(key);
            }
            throw e;
        }
    }

    private static Path key(Path file) {
        return file.toAbsolutePath().normalize();
    }

    private static void giveBack(Path key) {
        synchronized (HELD) {
            HELD.remove(key);
            HELD.notifyAll();
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            lock.release();
        } finally {
            try {
                channel.close();
            } finally {
                giveBack(key);
            }
        }
    }
}
