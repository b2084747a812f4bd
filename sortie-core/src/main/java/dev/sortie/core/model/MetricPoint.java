package dev.sortie.core.model;

import java.time.Instant;

/**
 * One value of one metric. {@code step} is never null once a point is recorded: sources without a step
 * number points per key in the order they arrive (0, 1, 2, ...), so re-reading the same source is idempotent.
 */
public record MetricPoint(String key, long step, double value, Instant time) {
}
