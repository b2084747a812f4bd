package dev.sortie.executor.aws;

import dev.sortie.core.executor.ForwardingRunListener;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.MetricPoint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A run's listener that records what the run cost as its metric {@code cost_usd} when its command exits: the
 * instance's hourly price times the time the run held it (added to what earlier attempts of the experiment cost), from the moment the run was given the instance (its launch
 * and boot included when the run launched it: they are paid for too) until the command exited.
 */
final class CostListener extends ForwardingRunListener {
    static final String METRIC = "cost_usd";
    private final double hourly;
    private final Instant from;
    private final Clock clock;

    CostListener(RunListener delegate, double hourly, Instant from, Clock clock) {
        super(delegate);
        this.hourly = hourly;
        this.from = from;
        this.clock = clock;
    }

    /** The request with its listener wrapped, or the request as it is when the price is unknown. */
    static LaunchRequest around(LaunchRequest r, Double hourly, Instant from) {
        if (hourly == null) {
            return r;
        }
        return new LaunchRequest(r.experiment(), r.task(), r.code(), r.files(), r.command(), r.environment(), r.logFile(), r.runDir(),
                r.restore(), new CostListener(r.listener(), hourly, from, Clock.systemUTC()));
    }

    static double cost(double hourly, Duration held) {
        return hourly * Math.max(0, held.toMillis()) / 3_600_000.0;
    }

    /**
     * Records the experiment's cost so far: this attempt's, plus what its earlier attempts recorded when it resumes
     * them (a run recovered after a spot interruption pays for every instance it ran on, not only the last).
     */
    @Override
    public void commandExited() {
        Instant now = clock.instant();
        double before = delegate.recorded(METRIC);
        double total = cost(hourly, Duration.between(from, now)) + (Double.isNaN(before) ? 0 : before);
        delegate.metrics(List.of(new MetricPoint(METRIC, 0, total, now)));
        delegate.commandExited();
    }
}
