package dev.sortie.core.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The OS file lock of LaunchLock, CollectLock and the ledger's migration, against real other processes (python3's fcntl). */
@Tag("integration")
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HeldFileLockTest {
    /** Tries the lock of argv[1] from another process: prints GOT or refused. */
    static final String PROBE = "import fcntl, sys\nf = open(sys.argv[1], 'a')\ntry:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('GOT')\n"
            + "except OSError:\n    print('refused')\n";
    /** Takes the lock of argv[1], says so, and holds it until killed. */
    static final String HOLDER = "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(600)\n";

    @TempDir
    Path tmp;

    static String probe(Path file) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", PROBE, file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    @Test
    void anotherProcessIsRefusedWhileHeldAndGetsItOnceClosed() throws Exception {
        Path file = tmp.resolve("made/on/demand.lock");
        try (HeldFileLock held = HeldFileLock.acquire(file)) {
            assertThat(probe(file)).isEqualTo("refused");
        }
        assertThat(probe(file)).isEqualTo("GOT");
    }

    @Test
    void aThreadRefusedTheLockDoesNotFreeItFromTheThreadThatHoldsIt() throws Exception {
        Path file = tmp.resolve("shared.lock");
        HeldFileLock held = HeldFileLock.tryAcquire(file).orElseThrow();
        try {
            Optional<HeldFileLock> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return HeldFileLock.tryAcquire(file);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(30, TimeUnit.SECONDS);
            assertThat(second).isEmpty();
            // on Linux closing any descriptor of the file drops the process's locks: the refused thread must not have
            assertThat(probe(file)).isEqualTo("refused");
        } finally {
            held.close();
        }
        held.close(); // a second close gives back nothing another thread took since
        assertThat(HeldFileLock.tryAcquire(file)).hasValueSatisfying(l -> {
            try {
                l.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void acquireWaitsForAnotherThreadOfThisProcessInsteadOfFailing() throws Exception {
        Path file = tmp.resolve("turns.lock");
        HeldFileLock first = HeldFileLock.acquire(file);
        CompletableFuture<HeldFileLock> second = CompletableFuture.supplyAsync(() -> {
            try {
                return HeldFileLock.acquire(file);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            // still waiting while the first holds it (no OverlappingFileLockException)
            assertThat(second).isNotDone();
            first.close();
            try (HeldFileLock got = second.get(30, TimeUnit.SECONDS)) {
                assertThat(probe(file)).isEqualTo("refused");
            }
        } finally {
            first.close();
        }
    }

    @Test
    void aProcessKilledWhileHoldingItLeavesItFree() throws Exception {
        Path file = tmp.resolve("killed.lock");
        Process holder = new ProcessBuilder("python3", "-c", HOLDER, file.toString()).start();
        try {
            String said = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(said).isEqualTo("held");
            assertThat(HeldFileLock.tryAcquire(file)).isEmpty();
            holder.destroyForcibly();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
                Optional<HeldFileLock> l = HeldFileLock.tryAcquire(file);
                if (l.isPresent()) {
                    l.get().close();
                }
                return l.isPresent();
            });
        } finally {
            holder.destroyForcibly();
        }
    }
}
