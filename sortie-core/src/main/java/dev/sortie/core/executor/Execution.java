package dev.sortie.core.executor;

import dev.sortie.core.model.RunHandle;
import java.time.Duration;

/** A started run. */
public interface Execution {

    RunHandle handle();

    /** Blocks until the run has ended and everything it produced was reported. */
    RunOutcome await() throws InterruptedException;

    /** Asks the run to stop (SIGTERM, then SIGKILL after {@code grace}); {@link #await()} still returns its outcome. */
    void stop(Duration grace);
}
