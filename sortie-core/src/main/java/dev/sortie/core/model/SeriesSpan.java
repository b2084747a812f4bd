package dev.sortie.core.model;

/**
 * How long a metric's series is: its number of points and its first and last step. A chart of several series needs
 * these before it reads any point, to lay one grid of steps over them all.
 */
public record SeriesSpan(long points, long firstStep, long lastStep) {
}
