package dev.sortie.core.executor;

/**
 * The interruptions of an attempt that are the machine's going away, not the experiment's nor the user's doing: a
 * spot interruption notice the node acted on ({@link #PREEMPTED}), or a host that stopped answering for
 * {@code lost_after} ({@link #LOST}). An executor that replaces lost machines ({@link Executor#replacesLostHosts()})
 * has such an attempt continued as the next attempt of the same experiment, from its last checkpoint.
 */
public final class Interruptions {
    /** How the error of an attempt that a spot interruption notice ended starts. */
    public static final String PREEMPTED = "preempted: ";
    /** What the error of an attempt whose host stopped answering for {@code lost_after} holds ("host H lost: ..."). */
    public static final String LOST = " lost: ";

    /** The run's environment variable: how many earlier attempts of the experiment a machine loss ended. */
    public static final String RECOVERIES_ENV = "SORTIE_RECOVERIES";

    private Interruptions() {
    }

    /** Whether an attempt's error says a spot interruption notice ended it. */
    public static boolean preempted(String error) {
        return error != null && error.startsWith(PREEMPTED);
    }

    /** Whether an attempt's error says its host was lost (no notice: it stopped answering). */
    public static boolean hostLost(String error) {
        return error != null && error.startsWith("host ") && error.contains(LOST);
    }

    /** Whether the machine went away under the attempt (preempted or lost). */
    public static boolean machineGone(String error) {
        return preempted(error) || hostLost(error);
    }
}
