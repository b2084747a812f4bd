package dev.sortie.executor.aws;

/**
 * The tags Sortie puts on what it launches (at RunInstances, through TagSpecifications, so an instance is findable
 * from its first moment: a sortie killed right after the call leaves nothing untagged).
 */
final class Tags {
    static final String OWNER = "sortie:owner";
    static final String PROJECT = "sortie:project";
    static final String EXECUTOR = "sortie:executor";
    static final String EXPERIMENT = "sortie:experiment";
    /** The host key Sortie gave the instance (public half): what its SSH connections accept. */
    static final String HOST_KEY = "sortie:host-key";
    /** Which sortie launched it: host and pid, to tell a launch in progress from one whose sortie died. */
    static final String LAUNCHER = "sortie:launcher";
    /** "true" once the sortie that launched it saw it ready; an instance without it and without a live launcher is an orphan. */
    static final String READY = "sortie:ready";
    /** What the instance costs an hour in USD, as priced at its launch (spot: the zone's spot price then). */
    static final String PRICE = "sortie:price-per-hour";
    /** A named volume's name (see {@link VolumeSpec}): with the owner, project and executor tags, what finds it. */
    static final String VOLUME = "sortie:volume";
    /**
     * When a run's end said the instance was interrupted (a spot notice) or lost: set before it is terminated, so
     * that no sortie claims it as idle in the minutes AWS may still list it running (or if terminating it failed).
     */
    static final String INTERRUPTED = "sortie:interrupted";
    static final String NAME = "Name";

    private Tags() {
    }
}
