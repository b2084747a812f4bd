package dev.sortie.server;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Whether the SDK of each tracked run ({@code sdk@HOST}, see {@link TrackedApi}) is still there. Nothing else of the
 * server can see such a run's process, so its posts are its heartbeat: the SDK reports at least every
 * {@link #heartbeat()} (an empty report when it has nothing to send), and a run that sent nothing for longer than
 * {@link #lostAfter()} is ended {@code interrupted}, naming why, as {@code lost_after} does for a host that stopped
 * answering. Last posts are kept in memory: after a restart of the server each run is given {@code lostAfter} from the
 * restart, so a server that was down itself loses nobody's run.
 */
final class TrackedLiveness implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TrackedLiveness.class.getName());
    /** How long a tracked run may send nothing before it is lost; SORTIE_TRACKED_LOST_AFTER_S overrides (tests shorten it). */
    static final Duration LOST_AFTER = Duration.ofMinutes(2);
    static final String LOST_AFTER_ENV = "SORTIE_TRACKED_LOST_AFTER_S";

    private final Ledger ledger;
    private final Duration lostAfter;
    private final Clock clock;
    private final Instant since;
    private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sortie-server-tracked-liveness");
        t.setDaemon(true);
        return t;
    });

    TrackedLiveness(Ledger ledger, Duration lostAfter, Clock clock) {
        this.ledger = ledger;
        this.lostAfter = lostAfter;
        this.clock = clock;
        this.since = clock.instant();
    }

    /** {@link #LOST_AFTER}, or {@value #LOST_AFTER_ENV} seconds. */
    static Duration lostAfterSetting() {
        String s = System.getenv(LOST_AFTER_ENV);
        try {
            Duration d = s == null || s.isBlank() ? LOST_AFTER : Duration.ofSeconds(Long.parseLong(s.trim()));
            if (d.toSeconds() < 2) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new ConfigException(LOST_AFTER_ENV + "='" + s + "': a whole number of seconds, 2 or more");
        }
    }

    Duration lostAfter() {
        return lostAfter;
    }

    /** How often the SDK posts when it has nothing to send: a quarter of the limit, so three posts may be lost. */
    Duration heartbeat() {
        return lostAfter.dividedBy(4);
    }

    /** A post about run {@code id} arrived. */
    void seen(String id) {
        lastSeen.put(id, clock.instant());
    }

    void start() {
        long every = Math.max(250, Math.min(2_000, lostAfter.toMillis() / 4));
        loop.scheduleWithFixedDelay(this::once, every, every, TimeUnit.MILLISECONDS);
    }

    /** Ends, as interrupted, each running tracked run whose SDK sent nothing for longer than the limit. */
    void once() {
        try {
            Instant now = clock.instant();
            for (Experiment e : ledger.listByStatus(List.of(ExperimentStatus.RUNNING))) {
                if (!e.executor().startsWith(TrackedApi.EXECUTOR_PREFIX) || !TaskSource.fromJson(e.task()).tracked()) {
                    continue;
                }
                Instant last = lastSeen.getOrDefault(e.id(), since);
                if (e.startedAt() != null && e.startedAt().isAfter(last)) {
                    last = e.startedAt();
                }
                if (Duration.between(last, now).compareTo(lostAfter) <= 0) {
                    continue;
                }
                String host = e.executor().substring(TrackedApi.EXECUTOR_PREFIX.length());
                String why = "lost: the SDK of this run on " + host + " sent nothing for " + Duration.between(last, now).toSeconds()
                        + " s (more than the " + lostAfter.toSeconds() + " s allowed): its process ended without finishing the run"
                        + " (killed, or its machine went away)";
                if (ledger.update(e.ended(ExperimentStatus.INTERRUPTED, now, null, why), ExperimentStatus.RUNNING)) {
                    lastSeen.remove(e.id());
                    LOG.log(System.Logger.Level.INFO, "{0}: {1}", e.name(), why);
                }
            }
        } catch (RuntimeException e) {
            // a ledger that does not answer this moment: the next round tries again
            LOG.log(System.Logger.Level.WARNING, "looking for tracked runs whose SDK went away failed; trying again", e);
        }
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
