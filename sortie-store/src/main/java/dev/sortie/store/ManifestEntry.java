package dev.sortie.store;

/**
 * One stored file of a folder: its path relative to the folder's base ('/'-separated), the hash of its content
 * in the blob store and its size in bytes.
 */
public record ManifestEntry(String path, String hash, long size) {
    public ManifestEntry {
        Manifests.requireSafeRelativePath(path);
        hash = BlobHash.require(hash);
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size + " for " + path);
        }
    }
}
