package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Finished runs' work folders that agents keep on a host for the next run ({@code spare/w-*}, see the agent's
 * WorkFolderReuse). They are only a cache of laid-out code, so a host whose disk is full gives them up before a
 * sync or a transfer fails.
 */
public final class SpareFolders {
    private static final System.Logger LOG = System.getLogger(SpareFolders.class.getName());
    /**
     * $1 the spare folder. Each folder is renamed away before it is deleted, the way an agent claims one: whoever
     * renames it owns it, so a folder an agent just took for its run is never deleted under that run. Prints how
     * many were removed.
     */
    private static final String RECLAIM = """
            cd "$1" 2>/dev/null || { echo 0; exit 0; }
            n=0
            for d in w-*; do
              [ -d "$d" ] || continue
              mv -- "$d" "gone-$$-$d" 2>/dev/null || continue
              rm -rf -- "gone-$$-$d"
              n=$((n + 1))
            done
            echo "$n"
            """;

    private SpareFolders() {
    }

    /** Deletes the host's spare work folders; returns how many there were (0 when the host could not say). */
    static int reclaim(HostChannel c, RemoteLayout layout) {
        try {
            HostChannel.Result r = c.exec(List.of("sh", "-c", RECLAIM, "sortie-reclaim", layout.spare()), Duration.ofMinutes(2));
            return r.ok() ? Integer.parseInt(r.stdout().strip()) : 0;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "spare work folders not reclaimed: {0}", e);
            return 0;
        }
    }

    /** Something that writes to the host. */
    @FunctionalInterface
    public interface HostWrite<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code write}; if the host's disk is full, frees the spare work folders and runs it once more (uploads
     * move files into place only when all of them arrived, so the first try left nothing half-written).
     */
    public static <T> T withRoom(HostChannel c, RemoteLayout layout, HostWrite<T> write) throws IOException {
        try {
            return write.run();
        } catch (HostDiskFull full) {
            if (reclaim(c, layout) == 0) {
                throw full;
            }
            return write.run();
        }
    }
}
