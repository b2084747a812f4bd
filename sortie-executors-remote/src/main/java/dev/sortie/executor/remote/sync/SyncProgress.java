package dev.sortie.executor.remote.sync;

/**
 * How far a transfer to or from a host has got, for a progress line. Called on the transferring thread: once when
 * sending starts, then whenever 200 ms have passed while bytes move (a stalled link calls nothing until it moves
 * again), and once when the host has confirmed everything. Transfers with nothing to send do not call it.
 */
@FunctionalInterface
public interface SyncProgress {
    public SyncProgress NONE = (filesDone, filesTotal, bytesDone, bytesTotal) -> { };

    /**
     * @param bytesTotal the bytes to move, or -1 while unknown (a download learns sizes as the blobs arrive)
     */
    public void update(long filesDone, long filesTotal, long bytesDone, long bytesTotal);
}
