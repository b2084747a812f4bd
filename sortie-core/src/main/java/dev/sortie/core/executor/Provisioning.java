package dev.sortie.core.executor;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * An executor that starts and stops machines of its own (a cloud's instances): what {@code sortie up}, {@code sortie
 * down} and the instances part of {@code sortie status} go through, so the CLI knows no cloud by name. An executor
 * type offers it by implementing it next to {@link Executor}.
 */
public interface Provisioning {

    /** Starts instances until {@code count} of this executor's are running (idle or busy) and keeps them; returns them all. */
    List<Instance> up(int count, Consumer<String> progress) throws IOException;

    /** Terminates every instance of this executor, busy or not; returns those it asked to terminate. */
    List<Instance> down(Consumer<String> progress) throws IOException;

    /**
     * Terminates this user's instances that nothing will use again: launches whose sortie died before the instance was
     * ready, and instances of executors no longer configured (not in {@code configured}). Returns them.
     */
    List<Instance> downOrphans(Set<String> configured, Consumer<String> progress) throws IOException;

    /** The instances this user's sorties started where this executor launches (every executor's, every state but terminated). */
    List<Instance> cloudInstances() throws IOException;

    /** This user's named volumes where this executor launches (every executor's); none for executors without volumes. */
    default List<Volume> volumes() throws IOException {
        return List.of();
    }

    /**
     * Deletes this executor's named volumes, each once it is detached (after {@link #down}), and the data on them;
     * returns those deleted. Never called but on the user's explicit word ({@code sortie down EXECUTOR --volumes}).
     */
    default List<Volume> deleteVolumes(Consumer<String> progress) throws IOException {
        return List.of();
    }

    /**
     * A named volume as {@code sortie status} lists it.
     *
     * @param attachedTo the instance it is attached to, or null
     */
    record Volume(String name, String id, String executor, String zone, int sizeGb, String state, String attachedTo) {
    }

    /**
     * One instance as {@code sortie status} lists it.
     *
     * @param executor the executor that started it (its tag)
     * @param state    the cloud's state (pending, running, stopping, ...)
     * @param ready    whether the sortie that launched it saw it ready (false: a launch in progress, or an orphan)
     * @param address  where it is reached (null before it has one)
     * @param pricePerHour what it costs an hour in USD, as known when it was launched (null: unknown)
     */
    record Instance(String id, String executor, String project, String state, String type, boolean spot, Instant launched,
                    String address, boolean ready, Double pricePerHour) {

        /** What it has cost since its launch until {@code now}, or null when its price is unknown. */
        public Double costSoFar(Instant now) {
            if (pricePerHour == null || launched == null) {
                return null;
            }
            return pricePerHour * Math.max(0, java.time.Duration.between(launched, now).toMillis()) / 3_600_000.0;
        }
    }
}
