package dev.sortie.core.ledger;

import dev.sortie.core.model.ExperimentView;
import java.util.List;

/** One page of a {@link ExperimentQuery}: its rows and how many rows match in all. */
public record ExperimentPage(List<ExperimentView> rows, int total) {
    public ExperimentPage {
        rows = List.copyOf(rows);
    }
}
