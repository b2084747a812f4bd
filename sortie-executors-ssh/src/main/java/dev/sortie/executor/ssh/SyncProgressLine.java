package dev.sortie.executor.ssh;

import dev.sortie.core.executor.RunListener;

/** Turns code-sync progress into the one-line messages a listener shows while a run is prepared. */
final class SyncProgressLine implements SyncProgress {
    private final RunListener listener;
    private final String where;

    SyncProgressLine(RunListener listener, String where) {
        this.listener = listener;
        this.where = where;
    }

    @Override
    public void update(long filesDone, long filesTotal, long bytesDone, long bytesTotal) {
        listener.progress(String.format("syncing code to %s: %d/%d files, %s/%s", where, filesDone, filesTotal,
                bytes(bytesDone), bytesTotal < 0 ? "?" : bytes(bytesTotal)));
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        if (n < 1024 * 1024) {
            return String.format("%.1f KiB", n / 1024.0);
        }
        if (n < 1024L * 1024 * 1024) {
            return String.format("%.1f MiB", n / (1024.0 * 1024));
        }
        return String.format("%.2f GiB", n / (1024.0 * 1024 * 1024));
    }
}
