package dev.sortie.executor.remote.host;

import dev.sortie.core.config.Units;
import dev.sortie.executor.remote.channel.HostChannel;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Files could not be written on a host because its disk is full (ENOSPC). Says how much was needed and how much
 * is free where it was going, and what the user can do, instead of the host's tar lines.
 */
public final class HostDiskFull extends IOException {
    private static final System.Logger LOG = System.getLogger(HostDiskFull.class.getName());
    /** What a host's tools write for ENOSPC (strerror, the same on glibc and musl). */
    public static final String ENOSPC = "No space left on device";

    private HostDiskFull(String message) {
        super(message);
    }

    /**
     * Whether a failed write of {@code needed} bytes (-1: unknown) into {@code dest} failed for want of space: the
     * host said ENOSPC, or (tar says only "Wrote only N of M bytes" when a block is cut short) the disk has less
     * free than was needed. Returns the error to throw, or null when it failed for some other reason.
     */
    public static HostDiskFull check(HostChannel c, HostChannel.Result failed, String dest, String what, long needed) {
        boolean said = failed.stderr() != null && failed.stderr().contains(ENOSPC);
        if (!said && needed < 0) {
            return null;
        }
        long free = freeBytes(c, dest);
        if (!said && (free < 0 || free >= needed)) {
            return null;
        }
        return new HostDiskFull("no space left on " + c.where() + "'s disk: cannot write " + what
                + (needed >= 0 ? " (" + Units.human(needed) + ")" : "") + " into " + dest
                + (free >= 0 ? ", which has " + Units.human(free) + " free" : "")
                + "; free some space on that disk, or set the executor's 'remote_dir:' to a folder on a larger one");
    }

    /** Free bytes in the file system of {@code path} on the host, or -1 when the host cannot say. */
    public static long freeBytes(HostChannel c, String path) {
        try {
            HostChannel.Result r = c.exec(List.of("df", "-Pk", "--", path), Duration.ofSeconds(10));
            String[] lines = r.stdout().strip().split("\n");
            if (r.ok() && lines.length >= 2) {
                String[] cols = lines[lines.length - 1].trim().split("\\s+");
                return Long.parseLong(cols[3]) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "free space under {0} unknown: {1}", path, e);
            // the message goes out without the figure
        }
        return -1;
    }
}
