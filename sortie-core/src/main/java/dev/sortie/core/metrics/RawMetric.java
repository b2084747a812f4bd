package dev.sortie.core.metrics;

/** A metric value as a source gave it; {@code step} is null when the source did not say. */
public record RawMetric(String key, double value, Long step) {
}
