package dev.sortie.executor.remote.run;

import dev.sortie.core.util.HeldFileLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Who collects a remote run on this machine: a lock on {@code <run dir>/collect.lock}, held by the process that
 * follows the run (the {@code sortie run} that launched it, a queue worker, {@code sortie logs -f}). The OS drops
 * it when that process dies, however it dies, so the next {@code sortie status} can take over; a second process
 * (or thread) that tries while it is held is told to leave the run alone.
 */
final class CollectLock implements AutoCloseable {
    private final HeldFileLock lock;

    private CollectLock(HeldFileLock lock) {
        this.lock = lock;
    }

    static Optional<CollectLock> tryAcquire(Path runDir) throws IOException {
        Path stateDir = runDir.toAbsolutePath().getParent().getParent();
        if (!Files.isDirectory(runDir) && stateDir != null && !Files.isDirectory(stateDir)) {
            // the project's .sortie folder is gone (removed during the run): not made again for a lock
            throw new java.nio.file.NoSuchFileException(stateDir.toString(), null, "the project's .sortie folder was removed");
        }
        return HeldFileLock.tryAcquire(runDir.resolve("collect.lock")).map(CollectLock::new);
    }

    @Override
    public void close() throws IOException {
        lock.close();
    }
}
