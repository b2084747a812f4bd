package dev.sortie.core.ledger;

import dev.sortie.core.model.ExperimentView;
import java.util.List;

/** One page of a {@link TableQuery}: its rows and how many rows match in all. */
public record TablePage(List<ExperimentView> rows, int total) {
    public TablePage {
        rows = List.copyOf(rows);
    }
}
