package dev.sortie.core.executor;

import java.io.IOException;

/**
 * The command of a run ran, but what it reported could not all be recorded (a full disk under the ledger): a
 * failure of the machine, not of the experiment. The message says how many points, why, and how much space is left.
 */
public final class MetricsNotRecordedException extends IOException {
    public MetricsNotRecordedException(String message, Throwable cause) {
        super(message, cause);
    }
}
