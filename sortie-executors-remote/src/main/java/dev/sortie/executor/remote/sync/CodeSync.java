package dev.sortie.executor.remote.sync;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Puts an experiment's code into the host's node-local cache ({@code cache/code/<git blob id>}), sending only what
 * the host lacks:
 *
 * <ol>
 *   <li>one shell first looks for the tree marker {@code cache/trees/<tree id>}: a host that already had this exact
 *       set of blobs answers at once, before any id is sent (the usual case: re-running). Otherwise it reads the
 *       blob ids on stdin and prints the missing ones;</li>
 *   <li>the missing blobs go in one tar stream, moved into place only once complete, then the marker is written.
 *       This command starts on a second channel the moment the first asks for the ids, so a changed tree costs
 *       about one round trip and one start of the user's login shell, not two (see {@link RemoteFiles#send}).</li>
 * </ol>
 *
 * Nothing is verified on arrival: the channel guarantees the bytes (SSH's MAC does), and the completion entry of the stream guarantees
 * that a cut transfer leaves nothing under a blob's name. Laying the files out in a work folder (paths, modes,
 * symlinks) is the agent's job; the cache holds contents only, read-only.
 */
public final class CodeSync {
    private static final Pattern BLOB_ID = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");

    private final HostChannel c;
    private final RemoteLayout layout;

    public CodeSync(HostChannel c, RemoteLayout layout) {
        this.c = c;
        this.layout = layout;
    }

    /** Opens a blob's bytes by its git blob id ({@code codeSource::open}). */
    @FunctionalInterface
    public interface BlobOpener {
        InputStream open(String blobId) throws IOException;
    }

    /**
     * What a sync did. Files are distinct contents: two paths with the same bytes are one blob, sent once.
     *
     * @param upToDate the tree marker was there: one command, nothing listed, nothing sent
     */
    public record SyncResult(int filesTotal, long bytesTotal, int filesSent, long bytesSent, boolean upToDate) {
    }

    /**
     * Makes sure every blob of {@code files} is in the host's code cache, sending only the missing ones.
     *
     * @param progress told how the upload goes, if there is one (see {@link SyncProgress})
     * @throws IllegalArgumentException for a blob id that is not 40 or 64 lowercase hex digits
     * @throws IOException naming the host and the step that failed
     */
    public SyncResult sync(List<CodeFile> files, BlobOpener opener, SyncProgress progress) throws IOException {
        Map<String, Long> blobs = new LinkedHashMap<>();
        for (CodeFile f : files) {
            if (f.blobId() == null || !BLOB_ID.matcher(f.blobId()).matches()) {
                throw new IllegalArgumentException("file " + f.path() + ": '" + f.blobId() + "' is not a git blob id");
            }
            blobs.putIfAbsent(f.blobId(), f.size());
        }
        long bytesTotal = blobs.values().stream().mapToLong(Long::longValue).sum();
        String marker = layout.treeMarkers() + "/" + treeId(blobs.keySet());

        RemoteFiles.Sent sent = RemoteFiles.send(c, layout.codeCache(), blobs.keySet(), marker, layout.root() + "/cache/tmp",
                missing -> {
                    List<RemoteFiles.Upload> uploads = new ArrayList<>(missing.size());
                    for (String id : missing) {
                        uploads.add(new RemoteFiles.Upload(id, blobs.get(id), () -> opener.open(id)));
                    }
                    return uploads;
                }, progress == null ? SyncProgress.NONE : progress, "code files", true);
        return new SyncResult(blobs.size(), bytesTotal, sent.files(), sent.bytes(), sent.markerFound());
    }

    /**
     * The name of a set of blobs: SHA-256 of the sorted distinct ids, one a line. Only contents matter: the cache
     * holds no paths, so two trees with the same contents under other names share a marker.
     */
    public static String treeId(Collection<String> blobIds) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
        for (String id : new TreeSet<>(blobIds)) {
            sha.update(id.getBytes(StandardCharsets.US_ASCII));
            sha.update((byte) '\n');
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
