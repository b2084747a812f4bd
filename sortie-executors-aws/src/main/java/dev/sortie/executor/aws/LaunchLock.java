package dev.sortie.executor.aws;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The lock every sortie process of this user takes, per project and executor, around "count the executor's live
 * instances, launch one if under {@code max_instances}": two processes draining queues on one machine then cannot
 * both see room for one more and both launch. An OS file lock (released when its process dies, SIGKILL included,
 * so a killed sortie never leaves it held), in the user's aws config folder. Held for the count and the
 * RunInstances call only (a fraction of a second), never while an instance boots.
 *
 * <p>Threads of one process must not both hold a FileLock on one file (the JVM refuses the second), so the process's
 * launches go through {@code inProcess} first.
 */
final class LaunchLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private LaunchLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Blocks until this process holds the lock of {@code file} (made, with its folder, if missing). */
    static LaunchLock acquire(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return new LaunchLock(c, c.lock());
        } catch (IOException | RuntimeException e) {
            c.close();
            throw new IOException("cannot lock " + file + " (the launch bound of max_instances across sortie processes): " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
