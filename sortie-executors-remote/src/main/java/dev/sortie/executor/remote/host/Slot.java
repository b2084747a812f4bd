package dev.sortie.executor.remote.host;

import java.util.List;

/**
 * One of a host's run slots, as a pool hands them out: its index on the host (the agent holds a lock named after
 * it while the run lives, so two sortie processes never fill the same slot) and the GPUs it owns, which the run
 * sees as {@code CUDA_VISIBLE_DEVICES} (empty: the host's GPUs are not divided).
 */
public record Slot(int index, List<Integer> gpus) {
    public Slot {
        if (index < 0) {
            throw new IllegalArgumentException("slot index " + index);
        }
        gpus = List.copyOf(gpus);
    }
}
