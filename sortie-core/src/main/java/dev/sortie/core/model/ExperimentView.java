package dev.sortie.core.model;

import java.util.Map;

/** An experiment with its latest metric values, as the experiments table shows it. */
public record ExperimentView(Experiment experiment, Map<String, Double> metrics) {
}
