package dev.sortie.cli.access;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * A blob sent to a server in parts ({@code PUT /blobs/{hash}/upload?offset=N}, then {@code .../complete}, API.md):
 * for blobs larger than one request may be, and so that a push cut short (the connection, the server) goes on
 * from the bytes the server has rather than from the start. The server stores the blob only once its bytes hash to
 * its name.
 */
public final class BlobUpload {
    /** Bytes per request: well under the server's 32 MiB body limit, and what a cut connection costs at most. */
    public static final int PART = 8 << 20;
    /** Blobs up to this size go in one {@code PUT /blobs/{hash}}. */
    public static final long WHOLE = PART;

    /** Told after each part: bytes the server has of {@code total}, and where this upload began (0, or where it resumed). */
    public interface Progress {
        void sent(long done, long total, long resumedAt);
    }

    private BlobUpload() {
    }

    /** Sends {@code hash} ({@code size} bytes) from {@code store}; the bytes sent now (0 if the server had it whole). */
    public static long send(ServerClient server, BlobStore store, String hash, long size, Progress progress) throws IOException {
        String base = "/blobs/" + hash + "/upload";
        JsonNode state = server.get(base);
        if (state.path("stored").asBoolean()) {
            return 0;
        }
        long offset = state.path("size").asLong();
        if (offset > size) {
            offset = 0; // not this blob's bytes: the complete below drops them, and it is sent again from the start
        }
        for (int round = 0; ; round++) {
            long start = offset;
            try (InputStream in = store.open(hash)) {
                in.skipNBytes(offset);
                while (offset < size) {
                    byte[] part = in.readNBytes((int) Math.min(PART, size - offset));
                    if (part.length == 0) {
                        throw new IOException("blob " + hash + " in " + store.location() + " ends at " + offset + " bytes, not " + size);
                    }
                    JsonNode answer = server.putBytes(base + "?offset=" + offset, part);
                    long now = answer.path("size").asLong();
                    if (answer.path("stored").asBoolean()) {
                        // another push of this blob finished it meanwhile
                        progress.sent(size, size, start);
                        return 0;
                    }
                    if (now > offset + part.length) {
                        // another push of this blob at once got further: go on from where the server is
                        in.skipNBytes(Math.min(now, size) - offset - part.length);
                    }
                    offset = now;
                    progress.sent(offset, size, start);
                }
            }
            try {
                server.post(base + "/complete", Map.of());
                return size - start;
            } catch (IllegalArgumentException mismatch) {
                // the server's parts did not hash to the blob (bytes from another push?): it dropped them; once more from 0
                if (round > 0) {
                    throw mismatch;
                }
                offset = 0;
            }
        }
    }
}
