package dev.sortie.core.model;

import java.time.Instant;

/**
 * Where a running experiment's processes are, so another process can tell if they are still alive.
 * {@code supervisorPid} is the process that watches the run (the local {@code sortie run} or an agent),
 * {@code pid} the user's command, which leads its own process group. Start times guard against pid reuse.
 */
public record RunHandle(String host, long supervisorPid, Instant supervisorStart, long pid, Instant processStart) {
}
