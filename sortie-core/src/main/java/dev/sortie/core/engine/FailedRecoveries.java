package dev.sortie.core.engine;

import dev.sortie.core.executor.Interruptions;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The recoveries whose launch failed: an experiment whose machine went away (attempt n preempted or lost) and whose
 * replacement, attempt n + 1, ended failed before its command started (no capacity left, credentials refused, the
 * image gone). Such a launch is often done by a process nobody watches ({@code sortie recover} started by
 * {@code status}, or a server's recovery loop), so {@code sortie status} lists these until the user retries or
 * removes the experiment: read from the ledger, the same for a local project and a server.
 */
public final class FailedRecoveries {
    /** The longest reason said on one line; the full error is in the experiment's record ('sortie show'). */
    static final int WHY_MAX = 300;

    private final Ledger ledger;

    public FailedRecoveries(Ledger ledger) {
        this.ledger = ledger;
    }

    /**
     * One failed recovery.
     *
     * @param experiment the experiment as it ended (its failed attempt)
     * @param lostAttempt the attempt whose machine went away
     * @param why        the launch's error on one line, shortened
     */
    public record Failed(Experiment experiment, int lostAttempt, String why) {
    }

    public List<Failed> list() {
        List<Failed> out = new ArrayList<>();
        for (Experiment e : ledger.listByStatus(List.of(ExperimentStatus.FAILED))) {
            if (e.attempt() <= 1 || e.commandStarted() || e.error() == null) {
                continue; // a first attempt, or a replacement whose command ran and failed by itself
            }
            Optional<AttemptRecord> before = ledger.attempts(e.id()).stream().filter(a -> a.attempt() == e.attempt() - 1).findFirst();
            if (before.isPresent() && before.get().status() == ExperimentStatus.INTERRUPTED && Interruptions.machineGone(before.get().error())) {
                out.add(new Failed(e, before.get().attempt(), oneLine(e.error())));
            }
        }
        return out;
    }

    /** The first line of an error, at most {@link #WHY_MAX} characters. */
    static String oneLine(String error) {
        String line = error.strip().lines().findFirst().orElse("").strip();
        return line.length() <= WHY_MAX ? line : line.substring(0, WHY_MAX - 3) + "...";
    }
}
