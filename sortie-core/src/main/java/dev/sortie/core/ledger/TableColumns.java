package dev.sortie.core.ledger;

import dev.sortie.core.model.ExperimentView;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The names of the experiments table's columns beyond the built-ins, as {@code sortie show} lists them by default: each
 * param key (flattened, {@code train.lr}) in the order it first appears (oldest experiment first, then the order of its
 * params), each metric key in code-point order, and whether any experiment ran a DVC stage (then show adds its
 * {@code stage} column).
 */
public record TableColumns(List<String> params, List<String> metrics, boolean stages) {
    public TableColumns {
        params = List.copyOf(params);
        metrics = List.copyOf(metrics);
    }

    /** The columns of rows already read, oldest first: what a ledger without a names table answers. */
    public static TableColumns of(List<ExperimentView> views) {
        Set<String> params = new LinkedHashSet<>();
        Set<String> metrics = new TreeSet<>();
        boolean stages = false;
        for (ExperimentView v : views) {
            params.addAll(v.experiment().params().flatten().keySet());
            metrics.addAll(v.metrics().keySet());
            stages |= stageOf(v.experiment().task()) != null;
        }
        return new TableColumns(List.copyOf(params), List.copyOf(metrics), stages);
    }

    /** The DVC stage an experiment's task record names; null when none, or when the record is unreadable (an older sortie's). */
    public static String stageOf(String task) {
        try {
            return dev.sortie.core.engine.TaskSource.stageOf(task);
        } catch (RuntimeException unreadable) {
            return null;
        }
    }
}
