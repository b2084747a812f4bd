package dev.sortie.core.metrics;

import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns raw metrics into points with a step each. A value without a step gets the next step of its key
 * (one past the last step seen for it, starting at 0), so a source read twice from the start yields the
 * same points and the ledger can upsert them without duplicates.
 */
public final class StepCounter {
    private final Map<String, Long> next = new HashMap<>();

    public List<MetricPoint> assign(List<RawMetric> raw, Instant time) {
        List<MetricPoint> out = new ArrayList<>(raw.size());
        for (RawMetric r : raw) {
            long step = r.step() != null ? r.step() : next.getOrDefault(r.key(), 0L);
            next.merge(r.key(), step + 1, Math::max);
            out.add(new MetricPoint(r.key(), step, r.value(), time));
        }
        return out;
    }
}
