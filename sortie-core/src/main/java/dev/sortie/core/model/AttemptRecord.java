package dev.sortie.core.model;

import java.time.Instant;

/**
 * How one ended attempt of an experiment went, as the ledger keeps it beside the experiment (whose row holds the latest
 * attempt): an attempt a spot interruption ended and the next one continued both stay listed.
 *
 * @param host where it ran (the run handle's host), null when it never started
 */
public record AttemptRecord(int attempt, ExperimentStatus status, String host, Instant startedAt, Instant endedAt, Integer exitCode,
                            String error) {
}
