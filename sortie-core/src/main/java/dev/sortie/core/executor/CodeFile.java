package dev.sortie.core.executor;

/**
 * One file of a code snapshot, as remote executors sync it: its path (relative to the work folder, '/'-separated),
 * its kind, its git blob id (the content's address: equal ids, equal bytes) and its size in bytes. A symlink's
 * blob holds the link's target.
 */
public record CodeFile(String path, Kind kind, String blobId, long size) {

    public enum Kind {
        FILE, EXECUTABLE, SYMLINK
    }
}
