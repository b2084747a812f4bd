package dev.sortie.core.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Named points where a test can hold a sortie process still, to kill it (SIGKILL) at exactly that step: with
 * {@code SORTIE_TEST_PAUSE_AT=STEP} and {@code SORTIE_TEST_PAUSE_MARKER=FILE} in its environment, the first thread
 * that reaches {@link #at(String) at(STEP)} writes FILE (the step's name) and blocks for good; the test waits for
 * the file and kills the process. Unset (every real use), a point costs one comparison. Tests only: no user-facing
 * behaviour depends on it, and a process paused here never resumes by itself.
 *
 * <p>The points of the aws executor's provisioning (AwsKillTest): {@code key-pair}, {@code security-group},
 * {@code run-instances}, {@code launched}, {@code ssh-wait}, {@code ready-tag}, {@code agent-install},
 * {@code sync}, {@code agent-launch}, {@code record}.
 */
public final class TestPause {
    private static final String STEP = System.getenv("SORTIE_TEST_PAUSE_AT");
    private static final String MARKER = System.getenv("SORTIE_TEST_PAUSE_MARKER");

    private TestPause() {
    }

    /** Blocks for good when the environment names {@code step}; returns at once otherwise. */
    public static void at(String step) {
        if (STEP == null || !STEP.equals(step)) {
            return;
        }
        try {
            if (MARKER != null) {
                Path tmp = Path.of(MARKER + ".tmp");
                Files.writeString(tmp, step + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, Path.of(MARKER), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write the pause marker " + MARKER, e);
        }
        Trace.mark("paused at " + step);
        while (true) {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                // held until killed: an interrupt (a shutdown) must not let the step go on
            }
        }
    }
}
