package dev.sortie.core.engine;

import dev.sortie.core.config.Units;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stop asked for while the run's host could not be reached. The run goes on there (or has ended there) and
 * nothing of it is collected yet, so it stays running in the ledger, with this note as its error ("stop requested
 * ..., pending: HOST cannot be reached"): any later sortie that reaches the host delivers the stop, then collects
 * the run's end as usual. The note lives in the ledger (no schema change) so every process and {@code sortie show}
 * sees it, and it is replaced by the run's own error when its end is recorded.
 *
 * @param grace     the grace period the user asked for (SIGTERM, then SIGKILL after it)
 * @param host      the host as the note names it
 * @param delivered whether the stop reached the host (then only the run's end is awaited)
 */
public record PendingStop(Duration grace, String host, boolean delivered) {
    private static final Pattern NOTE = Pattern.compile("^stop requested \\(grace ([^)]+)\\), (pending|delivered): (.*?)(?: cannot be reached.*| answered)$",
            Pattern.DOTALL);

    /** The stop recorded on a running experiment, if one waits to be delivered or for the run's end. */
    public static Optional<PendingStop> of(Experiment exp) {
        if (exp.status() != ExperimentStatus.RUNNING || exp.error() == null) {
            return Optional.empty();
        }
        Matcher m = NOTE.matcher(exp.error());
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new PendingStop(Units.duration(m.group(1)), m.group(3), m.group(2).equals("delivered")));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The note of a stop that could not reach {@code host}. */
    static String pendingNote(Duration grace, String host, String why) {
        return "stop requested (grace " + seconds(grace) + "), pending: " + host + " cannot be reached (" + why
                + "); it is delivered when the host answers";
    }

    /** This stop, delivered: the note the run keeps until its end is collected. */
    String deliveredNote() {
        return "stop requested (grace " + seconds(grace) + "), delivered: " + host + " answered";
    }

    /** Whole seconds, as {@link Units#duration} reads them back (the agent's grace is in whole seconds too). */
    private static String seconds(Duration d) {
        return Math.max(1, d.toSeconds()) + "s";
    }

    /** The error an end gets when a stop was asked for: the user's stop, and what else happened. */
    static String endError(String runError) {
        return runError == null || runError.equals("stopped") || runError.startsWith("stopped by user")
                ? "stopped by user" : "stopped by user; " + runError;
    }
}
