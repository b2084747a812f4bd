package dev.sortie.executor.remote.pool;

import dev.sortie.executor.remote.host.Slot;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The slots of a pool's hosts as one process sees them: which host answers, how its GPUs are divided into slots,
 * and which slots hold a run (one this process launched, or one another process holds on the host). Not
 * thread-safe: {@link PoolExecutor} guards it with its lock. Times are milliseconds of a monotonic clock, passed in.
 *
 * <p>A host starts {@link HostState#UNKNOWN}; its first successful probe lays its slots out (from its GPUs and the
 * pool's {@code slots}/{@code gpus_per_slot}) and makes it {@link HostState#UP}. A host that does not answer is
 * {@link HostState#DOWN} and is probed again every so often; when it answers it rejoins with its slots as they were.
 */
final class SlotTable {

    public enum HostState { UNKNOWN, UP, DOWN }

    public enum Use { FREE, OURS, FOREIGN }

    /** A slot taken for one launch: the host's position in the pool and the slot on it. */
    public record Reservation(int host, Slot slot) {
    }

    /** How the pool looks, for the waiting message: busy and total slots of the hosts that answer, hosts down. */
    public record Summary(int busy, int total, int up, int down, int unknown, List<String> downHosts) {
    }

    private static final class Host {
        final String name;
        HostState state = HostState.UNKNOWN;
        boolean probing;
        long nextProbe;
        String downReason;
        List<Slot> slots;
        Use[] uses;
        long[] busyUntil;

        Host(String name) {
            this.name = name;
        }

        int load(long now) {
            int n = 0;
            for (int i = 0; i < uses.length; i++) {
                if (uses[i] == Use.OURS || (uses[i] == Use.FOREIGN && busyUntil[i] > now)) {
                    n++;
                }
            }
            return n;
        }

        int pick(long now) {
            for (int i = 0; i < uses.length; i++) {
                if (uses[i] == Use.FREE) {
                    return i;
                }
            }
            for (int i = 0; i < uses.length; i++) {
                if (uses[i] == Use.FOREIGN && busyUntil[i] <= now) {
                    return i;
                }
            }
            return -1;
        }
    }

    private final List<Host> hosts = new ArrayList<>();
    private final Integer slots;
    private final Integer gpusPerSlot;

    /**
     * @param hostNames   the pool's hosts, in config order (the order ties are broken in)
     * @param slots       runs per host, or null for one per GPU (1 when the host has none)
     * @param gpusPerSlot GPUs per slot, or null for the default (1, or the GPUs divided evenly when {@code slots} is set)
     */
    SlotTable(List<String> hostNames, Integer slots, Integer gpusPerSlot) {
        for (String n : hostNames) {
            hosts.add(new Host(n));
        }
        this.slots = slots;
        this.gpusPerSlot = gpusPerSlot;
    }

    /**
     * How a host with these GPUs (their indices, as nvidia-smi numbers them) is divided into slots:
     * <ul>
     *   <li>no GPUs: {@code slots} slots (default 1), none with GPUs;</li>
     *   <li>neither set: one slot per GPU;</li>
     *   <li>{@code gpus_per_slot} only: as many slots of that many GPUs as fit (at least one; a host with fewer GPUs
     *       gets one slot with all of them);</li>
     *   <li>{@code slots} only: the GPUs divided evenly (at least one each);</li>
     *   <li>both: slot i gets GPUs i*g .. i*g+g-1, wrapping around when there are more slots than GPUs
     *       (runs share GPUs).</li>
     * </ul>
     */
    static List<Slot> layout(List<Integer> gpus, Integer slots, Integer gpusPerSlot) {
        List<Slot> out = new ArrayList<>();
        int n = gpus.size();
        if (n == 0) {
            int s = slots == null ? 1 : slots;
            for (int i = 0; i < s; i++) {
                out.add(new Slot(i, List.of()));
            }
            return out;
        }
        int g = gpusPerSlot != null ? gpusPerSlot : slots == null ? 1 : Math.max(1, n / slots);
        g = Math.min(g, n);
        int s = slots != null ? slots : Math.max(1, n / g);
        for (int i = 0; i < s; i++) {
            List<Integer> mine = new ArrayList<>(g);
            for (int k = 0; k < g; k++) {
                mine.add(gpus.get((i * g + k) % n));
            }
            out.add(new Slot(i, mine));
        }
        return out;
    }

    int size() {
        return hosts.size();
    }

    HostState state(int host) {
        return hosts.get(host).state;
    }

    /** The host's slots, or null before it first answered. */
    List<Slot> slots(int host) {
        return hosts.get(host).slots;
    }

    Use use(int host, int slot) {
        return hosts.get(host).uses[slot];
    }

    String downReason(int host) {
        return hosts.get(host).downReason;
    }

    /** Hosts to probe now (never probed, or down and due), marked as being probed. */
    List<Integer> claimProbes(long now) {
        List<Integer> due = new ArrayList<>();
        for (int i = 0; i < hosts.size(); i++) {
            Host h = hosts.get(i);
            if (!h.probing && h.state != HostState.UP && h.nextProbe <= now) {
                h.probing = true;
                due.add(i);
            }
        }
        return due;
    }

    /**
     * The host answered with these GPUs: it is up. Its slots are laid out on its first answer and kept after (runs
     * of this process may hold them); slots other processes held are tried again.
     */
    void probed(int host, List<Integer> gpus) {
        Host h = hosts.get(host);
        h.probing = false;
        h.state = HostState.UP;
        h.downReason = null;
        if (h.slots == null) {
            h.slots = List.copyOf(layout(gpus, slots, gpusPerSlot));
            h.uses = new Use[h.slots.size()];
            java.util.Arrays.fill(h.uses, Use.FREE);
            h.busyUntil = new long[h.slots.size()];
        } else {
            for (int i = 0; i < h.uses.length; i++) {
                if (h.uses[i] == Use.FOREIGN) {
                    h.uses[i] = Use.FREE;
                }
            }
        }
    }

    /** The probe failed: the host is down and is probed again at {@code now + retryAfter}. */
    void probeFailed(int host, String reason, long now, long retryAfter) {
        Host h = hosts.get(host);
        h.probing = false;
        h.state = HostState.DOWN;
        h.downReason = reason;
        h.nextProbe = now + retryAfter;
    }

    /**
     * A launch found the host unreachable: the slot it had taken is free again and the host is down until a probe
     * at {@code now + retryAfter} finds it. Returns whether this changed the host's state (it was up).
     */
    boolean down(Reservation r, String reason, long now, long retryAfter) {
        Host h = hosts.get(r.host());
        h.uses[r.slot().index()] = Use.FREE;
        boolean was = h.state == HostState.UP;
        if (!h.probing) {
            h.state = HostState.DOWN;
            h.downReason = reason;
            h.nextProbe = now + retryAfter;
        }
        return was;
    }

    /**
     * Takes a free slot for a launch: on the least-loaded host that answers (fewest runs; ties go to the host listed
     * first), its lowest free slot, else a slot another process held whose time to look again has come. Empty when
     * there is none, or when a host is still being probed for the first time and could be less loaded than the best
     * one found.
     */
    Optional<Reservation> reserve(long now) {
        int best = -1;
        int bestLoad = Integer.MAX_VALUE;
        boolean unknown = false;
        for (int i = 0; i < hosts.size(); i++) {
            Host h = hosts.get(i);
            if (h.state == HostState.UNKNOWN) {
                unknown = true;
            }
            if (h.state != HostState.UP || h.pick(now) < 0) {
                continue;
            }
            int load = h.load(now);
            if (load < bestLoad) {
                best = i;
                bestLoad = load;
            }
        }
        if (best < 0 || (unknown && bestLoad > 0)) {
            return Optional.empty();
        }
        Host h = hosts.get(best);
        int s = h.pick(now);
        h.uses[s] = Use.OURS;
        return Optional.of(new Reservation(best, h.slots.get(s)));
    }

    /** A run of this process left the slot (its launch failed, or it ended). */
    void release(Reservation r) {
        hosts.get(r.host()).uses[r.slot().index()] = Use.FREE;
    }

    /** Another run holds the slot on the host; it is tried again from {@code until} on. */
    void busyElsewhere(Reservation r, long until) {
        Host h = hosts.get(r.host());
        h.uses[r.slot().index()] = Use.FOREIGN;
        h.busyUntil[r.slot().index()] = until;
    }

    /** Whether some host has not answered its first probe yet (and is not known to be down). */
    boolean anyUnknown() {
        return hosts.stream().anyMatch(h -> h.state == HostState.UNKNOWN);
    }

    /** When something may change without a launch ending: a down host's next probe, a slot held elsewhere to retry. */
    long nextEvent(long now) {
        long next = Long.MAX_VALUE;
        for (Host h : hosts) {
            if (h.state != HostState.UP && !h.probing) {
                next = Math.min(next, h.nextProbe);
            }
            if (h.state == HostState.UP) {
                for (int i = 0; i < h.uses.length; i++) {
                    if (h.uses[i] == Use.FOREIGN) {
                        next = Math.min(next, h.busyUntil[i]);
                    }
                }
            }
        }
        return Math.max(next, now);
    }

    Summary summary() {
        int busy = 0;
        int total = 0;
        int up = 0;
        int down = 0;
        int unknown = 0;
        List<String> downHosts = new ArrayList<>();
        for (Host h : hosts) {
            switch (h.state) {
                case UP -> {
                    up++;
                    total += h.uses.length;
                    for (Use u : h.uses) {
                        if (u != Use.FREE) {
                            busy++;
                        }
                    }
                }
                case DOWN -> {
                    down++;
                    downHosts.add(h.name);
                }
                case UNKNOWN -> unknown++;
            }
        }
        return new Summary(busy, total, up, down, unknown, downHosts);
    }
}
