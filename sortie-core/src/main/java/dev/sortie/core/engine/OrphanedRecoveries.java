package dev.sortie.core.engine;

import dev.sortie.core.executor.Interruptions;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.Experiment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Launches the recoveries no sortie is doing (see {@link ExperimentService#claimOrphanedRecoveries()}): a run whose
 * instance went away while no sortie followed it (detached, its sortie killed during the recovery, its laptop closed,
 * or run by a server that was restarted) goes on as its next attempt on a replacement, detached, as
 * {@code sortie run --detach} would start it; whoever follows detached runs then collects it. The one code path
 * that decides this, for the CLI ({@code status}, {@code queue start}, {@code logs -f}, {@code run}) and for the
 * server's recovery loop alike.
 */
public final class OrphanedRecoveries {
    private static final System.Logger LOG = System.getLogger(OrphanedRecoveries.class.getName());

    private final ExperimentService service;
    private final Duration grace;

    /** @param grace how long a replacement's stop waits between SIGTERM and SIGKILL */
    public OrphanedRecoveries(ExperimentService service, Duration grace) {
        this.service = service;
        this.grace = grace;
    }

    /** One recovery claimed: what to say about it, and the launch that starts its replacement. */
    public record Claimed(Experiment ended, Experiment next, String line, ExperimentService.OrphanedRecovery recovery) {
    }

    /** Claims each orphaned recovery (a compare-and-set each: of two callers only one gets a run). */
    public List<Claimed> claim() {
        List<Claimed> out = new ArrayList<>();
        for (ExperimentService.OrphanedRecovery r : service.claimOrphanedRecoveries()) {
            Experiment ended = r.ended();
            Experiment next = r.next().experiment();
            String line = "sortie: " + ended.name() + ": attempt " + ended.attempt() + " "
                    + (Interruptions.preempted(ended.error()) ? "preempted" : "lost its instance")
                    + (r.lastStep() >= 0 ? " at step " + r.lastStep() : "") + " while no sortie followed it; continuing as attempt "
                    + next.attempt() + " on a replacement, " + (r.next().resumed() ? "resumed from its last checkpoint" : "from the start")
                    + " (detached: 'sortie logs -f " + ended.name() + "' follows it)";
            out.add(new Claimed(ended, next, line, r));
        }
        return out;
    }

    /**
     * Launches a claimed recovery's replacement, detached; returns the attempt as recorded after its launch (running
     * on its new host, or ended when the executor ran it to its end, or failed to start it), or null when the launch
     * itself failed ({@code say} is told why).
     */
    public Experiment launch(Claimed c, Consumer<String> say) throws InterruptedException {
        return launch(c.recovery().next(), say);
    }

    /** {@link #launch(Claimed, Consumer)} of an attempt claimed (or taken over, see {@link ExperimentService#takeOverLaunch}). */
    public Experiment launch(PreparedRun next, Consumer<String> say) throws InterruptedException {
        AttemptControl control = new AttemptControl(grace);
        control.detach();
        String name = next.experiment().name();
        try {
            return service.runAttempt(next, RunListener.NONE, control);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "the replacement of " + name + " could not be launched", e);
            say.accept("sortie: " + name + ": the replacement could not be launched: " + e.getMessage());
            return null;
        }
    }

    /** Claims and launches each, one after the other, saying each claim first; returns the attempts launched. */
    public List<Experiment> run(Consumer<String> say) throws InterruptedException {
        List<Experiment> launched = new ArrayList<>();
        for (Claimed c : claim()) {
            say.accept(c.line());
            Experiment done = launch(c, say);
            if (done != null) {
                launched.add(done);
            }
        }
        return launched;
    }
}
