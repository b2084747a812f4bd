package dev.sortie.core.model;

import java.util.Comparator;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One page of the experiments table: which experiments (filters), in what order, from where and how many. A ledger
 * answers it in its database ({@code Ledger#query}), so a table of 100,000 experiments is never read whole to show 50.
 *
 * @param statuses only experiments with one of these statuses; empty for all
 * @param executor only experiments meant for this executor; null for all
 * @param sort the column to order by; ties (and {@link Sort#CREATED} itself) in the order experiments were created
 * @param descending the whole order reversed, ties included
 * @param offset how many rows of that order to pass over
 * @param limit at most this many rows (1 or more)
 */
public record ExperimentQuery(Set<ExperimentStatus> statuses, String executor, Sort sort, boolean descending, int offset, int limit) {
    /** The most rows one page may ask for. */
    public static final int MAX_LIMIT = 10_000;

    /** The columns a page can be ordered by. A time that is not set (not started yet) comes before every time that is. */
    public enum Sort {
        CREATED, NAME, STATUS, STARTED, ENDED
    }

    public ExperimentQuery {
        statuses = statuses.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(statuses));
        Objects.requireNonNull(sort, "sort");
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be 0 or more, not " + offset);
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
        }
    }

    /** The first {@code limit} experiments, oldest first, unfiltered. */
    public static ExperimentQuery first(int limit) {
        return new ExperimentQuery(Set.of(), null, Sort.CREATED, false, 0, limit);
    }

    public ExperimentQuery withStatuses(Set<ExperimentStatus> only) {
        return new ExperimentQuery(only, executor, sort, descending, offset, limit);
    }

    public ExperimentQuery withExecutor(String only) {
        return new ExperimentQuery(statuses, only, sort, descending, offset, limit);
    }

    public ExperimentQuery sortedBy(Sort by, boolean desc) {
        return new ExperimentQuery(statuses, executor, by, desc, offset, limit);
    }

    public ExperimentQuery page(int from, int size) {
        return new ExperimentQuery(statuses, executor, sort, descending, from, size);
    }

    /** Whether {@code e} passes the filters. */
    public boolean matches(Experiment e) {
        return (statuses.isEmpty() || statuses.contains(e.status())) && (executor == null || executor.equals(e.executor()));
    }

    /**
     * The order over experiments listed oldest first, for a ledger that sorts in memory: a stable sort keeps that
     * order between ties, as the database's tie-breakers do.
     */
    public Comparator<Experiment> comparator() {
        Comparator<java.time.Instant> nullsFirst = Comparator.nullsFirst(Comparator.naturalOrder());
        Comparator<Experiment> c = switch (sort) {
            case CREATED -> (a, b) -> 0;
            case NAME -> Comparator.comparing(Experiment::name);
            case STATUS -> Comparator.comparing(e -> e.status().label());
            case STARTED -> Comparator.comparing(Experiment::startedAt, nullsFirst);
            case ENDED -> Comparator.comparing(Experiment::endedAt, nullsFirst);
        };
        return c;
    }
}
