package dev.sortie.executor.remote.sync;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Fetches files of a folder on a host by their relative paths: one command and one tar stream per batch of paths,
 * never a command per file. Paths the host lacks are left out of the stream (the caller says what that means); an
 * entry that was not asked for fails the download, so a host cannot write anywhere but where it was asked to. The
 * counterpart of {@link RemoteFiles#send}, shared by the store's blobs ({@link StoreTransfer}) and DVC's cache
 * ({@link DvcHostCache}).
 */
final class TarDownload {
    /** $1 the folder; stdin: relative paths. Writes a tar of those that exist (absent ones are left out). */
    private static final String SCRIPT = """
            cd "$1" 2>/dev/null || exit 0
            set -f
            set --
            for p in $(cat); do [ -f "$p" ] && set -- "$@" "$p"; done
            [ $# -eq 0 ] && exit 0
            exec tar -c -f - "$@"
            """;

    private TarDownload() {
    }

    /** Takes one file of the stream: its path as asked, its size, its bytes (to read, not to close: the stream goes on). */
    interface Receiver {
        void receive(String path, long size, InputStream content) throws IOException;
    }

    /**
     * Streams the files at {@code paths} under {@code dir} on the host, {@code batch} paths a command, to
     * {@code receiver}, in the order the host sends them.
     *
     * @param what what the files are, for errors ("store blobs", "DVC cache files")
     * @throws IOException naming {@code what}, the folder and the host for a failed command or an entry not asked for
     */
    static void fetch(HostChannel c, String dir, List<String> paths, int batch, String what, Receiver receiver) throws IOException {
        String host = c.where();
        for (int i = 0; i < paths.size(); i += batch) {
            List<String> part = paths.subList(i, Math.min(paths.size(), i + batch));
            Set<String> asked = new HashSet<>(part);
            HostChannel.Result r = c.exec(List.of("sh", "-c", SCRIPT, "sortie-download", dir),
                    stdin -> RemoteFiles.writeLines(stdin, part),
                    (HostChannel.StdoutReader) out -> read(out, asked, what, host, receiver),
                    RemoteFiles.IDLE_TIMEOUT);
            if (!r.ok()) {
                throw new IOException("cannot download " + what + " from " + dir + " on " + host + ": " + RemoteFiles.failure(r));
            }
        }
    }

    private static void read(InputStream in, Set<String> asked, String what, String host, Receiver receiver) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            if (!e.isFile()) {
                continue;
            }
            String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
            if (!asked.contains(name)) {
                throw new IOException("downloading " + what + " from " + host + ": unexpected entry '"
                        + HostChannel.abbreviate(name) + "' in the stream");
            }
            receiver.receive(name, e.getSize(), tar);
        }
    }
}
