package dev.sortie.agent;

import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Turns the lines of an SDK events file (sdk/PROTOCOL.md) into calls on a {@link Handler}: metrics already numbered
 * by step, artifacts and checkpoints asked for, params, the run's end. The one reading of the protocol for the run
 * supervisor, the salvage of a dead run and the watcher of a tracked run; each decides what to do with the events.
 */
public final class RunEventDispatch {

    /** What the events of a run ask for; metrics arrive as points, the rest as parsed. */
    public interface Handler {
        void metrics(List<MetricPoint> points);

        default void artifact(RunEvents.Artifact artifact) {
        }

        default void params(Map<String, Object> values) {
        }

        default void end(RunEvents.End end) {
        }
    }

    private final MetricCollector metrics;
    private final Handler handler;

    public RunEventDispatch(MetricCollector metrics, Handler handler) {
        this.metrics = metrics;
        this.handler = handler;
    }

    /** One line of the events file; lines this version does not know are ignored (sdk/PROTOCOL.md). */
    public void line(String line) {
        RunEvents.parse(line).ifPresent(e -> {
            if (e instanceof RunEvents.Metrics m) {
                handler.metrics(metrics.event(m, Instant.now()));
            } else if (e instanceof RunEvents.Artifact a) {
                handler.artifact(a);
            } else if (e instanceof RunEvents.Params p) {
                handler.params(p.values());
            } else if (e instanceof RunEvents.End end) {
                handler.end(end);
            }
        });
    }
}
