package dev.sortie.executor.remote.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("integration")
class CollectLockTest {
    @TempDir
    Path tmp;

    /**
     * Two threads of one process (a server's queue worker and its status pass) asking to collect one run: the second
     * is told to leave it, and the first still holds it against other processes. The second used to open the lock
     * file, be refused and close it, and on Linux that close dropped the first's OS lock: a `sortie status`
     * elsewhere then took over a run that was being collected.
     */
    @Test
    void aSecondThreadRefusedTheRunLeavesTheFirstHoldingItAgainstOtherProcesses() throws Exception {
        Path runDir = tmp.resolve(".sortie/runs/abc");
        Files.createDirectories(runDir);
        try (CollectLock held = CollectLock.tryAcquire(runDir).orElseThrow()) {
            Optional<CollectLock> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return CollectLock.tryAcquire(runDir);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(30, TimeUnit.SECONDS);
            assertThat(second).isEmpty();
            assertThat(probe(runDir.resolve("collect.lock"))).as("another process trying the run's lock").isEqualTo("refused");
        }
        assertThat(probe(runDir.resolve("collect.lock"))).isEqualTo("GOT");
    }

    private static String probe(Path file) throws Exception {
        String code = "import fcntl, sys\nf = open(sys.argv[1], 'a')\ntry:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('GOT')\n"
                + "except OSError:\n    print('refused')\n";
        Process p = new ProcessBuilder("python3", "-c", code, file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
