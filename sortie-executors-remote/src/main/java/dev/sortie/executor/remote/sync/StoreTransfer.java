package dev.sortie.executor.remote.sync;

import dev.sortie.core.store.BlobStore;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.store.BlobHash;
import dev.sortie.store.BlobNotFoundException;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Moves blobs between the local store and the host's ({@code <remote_dir>/store/objects/ab/cdef..}, the layout of
 * {@link LocalBlobStore}) in bulk: one listing and one tar stream each way, never a command per blob.
 *
 * <p>Uploads land atomically (temp folder, then rename; see {@link RemoteFiles#upload}). Downloads go through
 * {@link BlobStore#put(InputStream)}, atomic itself, which returns the hash of what it stored: a blob whose bytes
 * do not hash to its name fails the download with an error naming it.
 */
public final class StoreTransfer {
    /** Paths per download command: their arguments stay far below any system's ARG_MAX (~130 KB of 2,000). */
    private static final int DOWNLOAD_BATCH = 2000;

    private StoreTransfer() {
    }

    /** What a transfer did: blobs asked for (distinct), blobs moved, their bytes. */
    public record Result(int requested, int transferred, long bytes) {
    }

    /** Puts the blobs of {@code local} that the host's store lacks there. */
    public static Result upload(HostChannel c, RemoteLayout layout, BlobStore local, Collection<String> sha256s) throws IOException {
        return upload(c, layout, local, sha256s, SyncProgress.NONE);
    }

    /**
     * Puts the blobs of {@code local} that the host's store lacks there.
     *
     * @throws BlobNotFoundException for a blob the local store does not have
     */
    public static Result upload(HostChannel c, RemoteLayout layout, BlobStore local, Collection<String> sha256s,
                                SyncProgress progress) throws IOException {
        Set<String> hashes = distinct(sha256s);
        if (hashes.isEmpty()) {
            return new Result(0, 0, 0);
        }
        List<String> names = hashes.stream().map(StoreTransfer::path).toList();
        RemoteFiles.Sent sent = RemoteFiles.send(c, objects(layout), names, null, layout.store() + "/tmp", missing -> {
            List<RemoteFiles.Upload> uploads = new ArrayList<>(missing.size());
            for (String name : missing) {
                String hash = name.replace("/", "");
                uploads.add(new RemoteFiles.Upload(name, sizeOf(local, hash), () -> local.open(hash)));
            }
            return uploads;
        }, progress == null ? SyncProgress.NONE : progress, "store blobs", true);
        return new Result(hashes.size(), sent.files(), sent.bytes());
    }

    /** Fetches the blobs that {@code local} lacks from the host's store. */
    public static Result download(HostChannel c, RemoteLayout layout, BlobStore local, Collection<String> sha256s)
            throws IOException {
        return download(c, layout, local, sha256s, SyncProgress.NONE);
    }

    /**
     * Fetches the blobs that {@code local} lacks from the host's store, checking each one's hash as it is stored.
     * Blobs that arrived are kept even when the transfer fails later.
     *
     * @throws IOException naming the host and the blob(s) for a blob the host does not have or whose bytes do not
     *                     match its name, or a failed transfer
     */
    public static Result download(HostChannel c, RemoteLayout layout, BlobStore local, Collection<String> sha256s,
                                  SyncProgress progress) throws IOException {
        return download(c, layout, local, sha256s, progress, DOWNLOAD_BATCH);
    }

    public static Result download(HostChannel c, RemoteLayout layout, BlobStore local, Collection<String> sha256s,
                           SyncProgress progress, int batchSize) throws IOException {
        Set<String> hashes = distinct(sha256s);
        List<String> wanted = new ArrayList<>();
        for (String h : hashes) {
            if (!local.contains(h)) {
                wanted.add(h);
            }
        }
        if (wanted.isEmpty()) {
            return new Result(hashes.size(), 0, 0);
        }
        String host = c.where();
        RemoteFiles.Meter meter = new RemoteFiles.Meter(progress == null ? SyncProgress.NONE : progress, wanted.size(), -1);
        Set<String> received = new HashSet<>();
        long[] bytes = {0};
        TarDownload.fetch(c, objects(layout), wanted.stream().map(StoreTransfer::path).toList(), batchSize, "store blobs",
                (name, size, content) -> {
                    String hash = name.replace("/", "");
                    String got = local.put(new Metered(content, meter));
                    if (!got.equals(hash)) {
                        throw new IOException("blob " + hash + " from the store on " + host + " is corrupt: its content hashes to "
                                + got);
                    }
                    received.add(hash);
                    bytes[0] += size;
                    meter.file();
                });
        List<String> absent = wanted.stream().filter(h -> !received.contains(h)).toList();
        if (!absent.isEmpty()) {
            throw new IOException("the store on " + host + " (" + objects(layout) + ") lacks " + absent.size() + " of the "
                    + wanted.size() + " blob(s) to download: " + absent.stream().limit(5).collect(Collectors.joining(", "))
                    + (absent.size() > 5 ? ", ..." : ""));
        }
        meter.done();
        return new Result(hashes.size(), received.size(), bytes[0]);
    }

    private static Set<String> distinct(Collection<String> sha256s) {
        Set<String> out = new LinkedHashSet<>();
        for (String h : sha256s) {
            out.add(BlobHash.require(h));
        }
        return out;
    }

    private static String objects(RemoteLayout layout) {
        return layout.store() + "/objects";
    }

    /** ab/cdef..: where a blob lives under objects/, here and on the host. */
    private static String path(String hash) {
        return hash.substring(0, 2) + "/" + hash.substring(2);
    }

    /** A tar header needs the size first: every store says it without reading the blob (a file's length, an object's HEAD). */
    private static long sizeOf(BlobStore local, String hash) throws IOException {
        return local.size(hash);
    }

    /** The current entry of the tar stream, counted for progress (and not closed: the stream goes on). */
    private static final class Metered extends InputStream {
        private final InputStream in;
        private final RemoteFiles.Meter meter;

        Metered(InputStream in, RemoteFiles.Meter meter) {
            this.in = in;
            this.meter = meter;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                meter.bytes(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                meter.bytes(n);
            }
            return n;
        }
    }
}
