package dev.sortie.core.executor;

/**
 * What users see of a run's locator ({@code sortie status}): the host it runs on and, where its executor knows
 * one, the pid of its command (0: none or unknown).
 */
public record LocatorDescription(String host, long pid) {
}
