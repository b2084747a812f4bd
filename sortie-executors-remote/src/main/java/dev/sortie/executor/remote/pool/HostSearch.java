package dev.sortie.executor.remote.pool;

import dev.sortie.core.executor.DetachableExecutor.Collection;
import dev.sortie.executor.remote.run.RemoteAttempt;
import java.io.IOException;
import java.util.Map;

/**
 * What asking each host of an executor found for a run whose record names none of them (the sortie launching it
 * died before recording where): a host that has it, one that says its agent was never handed the run, or hosts that
 * did not answer. A pool and a cloud executor ask their hosts the same way; what they make of "nobody has it" differs.
 *
 * @param found the first real collection (running or ended), or null
 * @param neverHanded a host's answer that it never got the run, or null
 * @param unreachable whether a host did not answer (it may have the run)
 */
public record HostSearch(Collection found, Collection neverHanded, boolean unreachable) {
    private static final System.Logger LOG = System.getLogger(HostSearch.class.getName());

    /** One host's catch-up of the run: made only when it is asked, in order. */
    @FunctionalInterface
    public interface Ask {
        Collection catchUp() throws IOException;
    }

    /** Asks each host in order (by its name for people) and stops at the first that has the run. */
    public static HostSearch ask(Map<String, Ask> hosts) {
        Collection neverHanded = null;
        boolean unreachable = false;
        for (Map.Entry<String, Ask> host : hosts.entrySet()) {
            Collection c;
            try {
                c = host.getValue().catchUp();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "{0} unreachable while catching up: {1}", host.getKey(), e);
                unreachable = true;
                continue;
            }
            if (c.state() == Collection.State.ENDED && RemoteAttempt.neverHanded(c.outcome())) {
                neverHanded = c;
            } else if (c.state() == Collection.State.UNREACHABLE) {
                unreachable = true;
            } else {
                return new HostSearch(c, neverHanded, unreachable);
            }
        }
        return new HostSearch(null, neverHanded, unreachable);
    }
}
