package dev.sortie.executor.remote.sync;

import dev.sortie.core.config.Units;
import dev.sortie.core.executor.RunListener;

/** Turns code-sync progress into the one-line messages a listener shows while a run is prepared. */
public final class SyncProgressLine implements SyncProgress {
    private final RunListener listener;
    private final String where;

    public SyncProgressLine(RunListener listener, String where) {
        this.listener = listener;
        this.where = where;
    }

    @Override
    public void update(long filesDone, long filesTotal, long bytesDone, long bytesTotal) {
        listener.progress(String.format("syncing code to %s: %d/%d files, %s/%s", where, filesDone, filesTotal,
                Units.human(bytesDone), bytesTotal < 0 ? "?" : Units.human(bytesTotal)));
    }
}
