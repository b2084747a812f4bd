package dev.sortie.core.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Content-addressed storage of files: a blob's name is the lowercase hex SHA-256 of its bytes, so the same
 * content is stored once and a hash always means the same bytes. Writes are atomic: a reader never sees a
 * partial blob, and a crash mid-write leaves no blob under its hash.
 */
public interface BlobStore {

    /** Stores the file's content (if not there already) and returns its hash. */
    String put(Path file) throws IOException;

    /** Stores a stream's content (read to its end, not closed) and returns its hash. */
    String put(InputStream in) throws IOException;

    boolean contains(String hash) throws IOException;

    InputStream open(String hash) throws IOException;

    /** Writes the blob to {@code target} (atomically, replacing it), creating parent folders. */
    void get(String hash, Path target) throws IOException;

    /**
     * The blob's size in bytes ({@link java.io.FileNotFoundException} if absent). This default reads the blob once
     * to count it; stores that know sizes (a file's length, an object's metadata) say so without reading.
     */
    default long size(String hash) throws IOException {
        try (InputStream in = open(hash)) {
            return in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    /** Where this store lives, for messages ("file:///..", "s3://bucket/prefix"). */
    String location();

    /**
     * How another machine (a cloud instance) opens this same store itself: the URL and the settings it needs (the
     * endpoint this client talks to, the region), never a credential; the node takes those from its own default chain
     * (an instance profile). Empty for a store that only this machine can reach (a local folder).
     */
    default java.util.Optional<StoreSpec> nodeSpec() {
        return java.util.Optional.empty();
    }
}
