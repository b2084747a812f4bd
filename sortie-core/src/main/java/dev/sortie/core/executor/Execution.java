package dev.sortie.core.executor;

import dev.sortie.core.model.RunLocator;
import java.time.Duration;

/** A started run. */
public interface Execution {

    RunLocator handle();

    /** Blocks until the run has ended and everything it produced was reported. */
    RunOutcome await() throws InterruptedException;

    /** Asks the run to stop (SIGTERM, then SIGKILL after {@code grace}); {@link #await()} still returns its outcome. */
    void stop(Duration grace);

    /**
     * After {@link #await()}: what went wrong on the machine's side of a run whose outcome is FAILED because of it
     * (its metrics could not be recorded on a full disk, say), for an exit code that blames the infrastructure.
     */
    default java.util.Optional<java.io.IOException> infrastructureFailure() {
        return java.util.Optional.empty();
    }
}
