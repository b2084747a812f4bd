package dev.sortie.core.executor;

import java.io.IOException;

/**
 * An executor could not reach the machine a run was to start on (connection refused, timed out, no route), and
 * nothing was started there. Not the experiment's fault: a queued experiment goes back to the queue unstarted and
 * the queue waits before trying that executor again; a foreground run ends with an infrastructure error.
 */
public class HostUnavailableException extends IOException {
    public HostUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
