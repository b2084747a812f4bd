package dev.sortie.core.model;

import java.util.List;

/**
 * One page of the experiments table ({@link ExperimentQuery}): its rows, with their latest metrics, and how many
 * experiments pass the query's filters in all, for the pager.
 */
public record ExperimentPage(List<ExperimentView> rows, int total) {
    public ExperimentPage {
        rows = List.copyOf(rows);
    }
}
