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
 * answering. The time of each run's last post is kept in the ledger too (a control value, written at most every
 * {@link #persistEvery()} per run), so that after a restart of the server a run whose SDK died while the server was
 * down is lost {@code lostAfter} after its last post, not after the restart; a run whose SDK is alive posts again
 * (its buffered reports, retried every few seconds) within a heartbeat of the restart, which is what it is given at
 * least, so a server that was down itself loses nobody's run.
 */
final class TrackedLiveness implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TrackedLiveness.class.getName());
    /** How long a tracked run may send nothing before it is lost; SORTIE_TRACKED_LOST_AFTER_S overrides (tests shorten it). */
    static final Duration LOST_AFTER = Duration.ofMinutes(2);
    static final String LOST_AFTER_ENV = "SORTIE_TRACKED_LOST_AFTER_S";
    /** The ledger's control value that keeps a run's last post (an ISO instant) across restarts of the server. */
    static final String LAST_POST_CONTROL = "tracked.last_post.";

    private final Ledger ledger;
    private final Duration lostAfter;
    private final Clock clock;
    private final Instant since;
    private final Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
    /** When each run's last post was last written to the ledger by this process. */
    private final Map<String, Instant> persisted = new ConcurrentHashMap<>();
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

    /**
     * How often a run's last post is written to the ledger at most: a sixteenth of the limit, so a run found after a
     * restart is lost at most that much before {@code lostAfter} from its true last post, for a write per run every few
     * seconds rather than one per post.
     */
    Duration persistEvery() {
        return lostAfter.dividedBy(16);
    }

    /**
     * A post about run {@code id} arrived; {@code tracked}: it is an SDK's run (only those are watched here, and only
     * their posts are written to the ledger: an agent's run is followed by its executor).
     */
    void seen(String id, boolean tracked) {
        Instant now = clock.instant();
        lastSeen.put(id, now);
        Instant written = persisted.get(id);
        if (!tracked || written != null && Duration.between(written, now).compareTo(persistEvery()) < 0) {
            return;
        }
        try {
            ledger.setControl(LAST_POST_CONTROL + id, now.toString());
            persisted.put(id, now);
        } catch (RuntimeException e) {
            // kept in memory all the same: only a restart before the next write would count from an older post
            LOG.log(System.Logger.Level.WARNING, "the last post of tracked run " + id + " could not be recorded in the ledger", e);
        }
    }

    /** Run {@code id} ended (its end reported, or lost): its last post is no longer needed. */
    void ended(String id) {
        lastSeen.remove(id);
        persisted.remove(id);
        try {
            ledger.setControl(LAST_POST_CONTROL + id, null);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the last post of tracked run {0} stays in the ledger: {1}", id, e.toString());
        }
    }

    /**
     * When run {@code e}'s deadline is counted from: its last post seen by this process; else (a post before a restart)
     * the last post the ledger keeps, but never less than a heartbeat after this process started, which a live SDK
     * needs to post again; else (no post recorded) this process's start.
     */
    private Instant countedFrom(Experiment e) {
        Instant last = lastSeen.get(e.id());
        if (last == null) {
            Instant recorded = recordedPost(e.id());
            last = recorded == null ? since : latest(recorded, since.plus(heartbeat()).minus(lostAfter));
        }
        if (e.startedAt() != null && e.startedAt().isAfter(last)) {
            last = e.startedAt();
        }
        return last;
    }

    private Instant recordedPost(String id) {
        try {
            return ledger.control(LAST_POST_CONTROL + id).map(Instant::parse).orElse(null);
        } catch (java.time.format.DateTimeParseException unreadable) {
            LOG.log(System.Logger.Level.WARNING, "the recorded last post of tracked run {0} is unreadable; counting from the server's start", id);
            return since;
        }
    }

    private static Instant latest(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
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
                Instant last = countedFrom(e);
                if (Duration.between(last, now).compareTo(lostAfter) <= 0) {
                    continue;
                }
                String host = e.executor().substring(TrackedApi.EXECUTOR_PREFIX.length());
                String why = "lost: the SDK of this run on " + host + " sent nothing for " + Duration.between(last, now).toSeconds()
                        + " s (more than the " + lostAfter.toSeconds() + " s allowed): its process ended without finishing the run"
                        + " (killed, or its machine went away)";
                if (ledger.update(e.ended(ExperimentStatus.INTERRUPTED, now, null, why), ExperimentStatus.RUNNING)) {
                    ended(e.id());
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
