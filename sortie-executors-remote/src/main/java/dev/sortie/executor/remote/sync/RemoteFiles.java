package dev.sortie.executor.remote.sync;

import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.HostDiskFull;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Content-named files in a folder on a host, moved in bulk: which of a list are missing (one command, the names on
 * stdin), and the missing ones sent as one tar stream into a temp folder, moved into place only once the whole
 * stream has arrived. Used for the code cache, the store and the agent's jars.
 *
 * <p>Names are checked before they reach the host ({@link #checkName}): lowercase letters, digits, '.', '_' and '-',
 * at most one folder level, never starting with '.' or '-', so a name can neither leave its folder, be read as an
 * option, nor collide with the completion marker. Folders are passed as quoted arguments to fixed scripts.
 */
public final class RemoteFiles {
    private static final System.Logger LOG = System.getLogger(RemoteFiles.class.getName());
    /** How long a listing or a transfer may go without a byte moving before it is stopped. */
    static final Duration IDLE_TIMEOUT = Duration.ofMinutes(2);
    /** The last entry of every upload stream: tar leaves its files only after everything before it arrived. */
    private static final String COMPLETE = ".sortie-complete";
    private static final Pattern NAME = Pattern.compile("[0-9a-z_][0-9a-z._-]*(/[0-9a-z_][0-9a-z._-]*)?");
    private static final int BUFFER = 1 << 16;
    private static final long PROGRESS_EVERY_NANOS = 200_000_000L;
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * $1 the folder, $2 a marker (or empty); stdin: names, one a line. Answers "have" and stops when the marker
     * exists (before the names are even sent), else "need", then prints the missing names and creates the marker
     * when none is missing. {@code cat} once and a loop of builtins: ~10 ms for 5,000 names, where a {@code read}
     * loop would make a system call per byte.
     */
    private static final String MISSING = """
            dir=$1 marker=$2
            if [ -n "$marker" ] && [ -e "$marker" ]; then echo have; exit 0; fi
            cd "$dir" 2>/dev/null || { mkdir -p "$dir" && cd "$dir"; } || exit 1
            echo need
            set -f
            names=$(cat) || exit 1
            all=1
            for n in $names; do
              [ -e "$n" ] || { printf '%s\\n' "$n"; all=0; }
            done
            if [ "$all" = 1 ] && [ -n "$marker" ]; then
              { mkdir -p "${marker%/*}" && : > "$marker"; } || exit 1
            fi
            """;

    /**
     * $1 a fresh temp folder (incoming-TOKEN, on the same file system as $2), $2 the destination, $3 a marker to
     * create once every file is in place (or empty); stdin: the tar stream. Files move (rename: atomic per file)
     * only if tar read the whole stream up to the completion entry, in batches of one {@code mv} per folder (a
     * fork per file would cost seconds for thousands). SIGHUP and SIGPIPE are ignored: when the connection drops,
     * sshd closes the pipes, and the first message written to them must not kill the shell before it removed its
     * temp folder. Temp folders of shells killed anyway are swept two days later (a live upload touches its
     * folder as files arrive).
     */
    public static final String UPLOAD = """
            trap '' HUP PIPE
            tmp=$1 dest=$2 marker=$3
            mkdir -p "$tmp" "$dest" || exit 1
            (cd "${tmp%/*}" && find . ! -name . -prune -type d -name 'incoming-*' -mtime +1 -exec rm -rf {} +) 2>/dev/null
            cd "$tmp" || exit 1
            ok=0
            if tar -x -o -f - && [ -f .sortie-complete ]; then
              rm -f .sortie-complete
              ok=1
              find . ! -name . -prune -type f -exec sh -c 'exec mv -f "$@" "$0"' "$dest" {} + || ok=0
              for d in *; do
                [ -d "$d" ] || continue
                { mkdir -p "$dest/$d" && (cd "$d" && exec find . ! -name . -prune -type f -exec sh -c 'exec mv -f "$@" "$0"' "$dest/$d" {} +); } || ok=0
              done
              if [ "$ok" = 1 ] && [ -n "$marker" ]; then
                { mkdir -p "${marker%/*}" && : > "$marker"; } || ok=0
              fi
              cd / && rm -rf "$tmp"
            else
              cd / && rm -rf "$tmp"
              echo "the stream was cut short: nothing was moved into $dest" >&2
            fi
            [ "$ok" = 1 ]
            """;

    private RemoteFiles() {
    }

    /** Opens one file's bytes (exactly its declared size) for an upload. */
    @FunctionalInterface
    public interface Opener {
        InputStream open() throws IOException;
    }

    /** A file to send: its name under the destination ({@code id} or {@code ab/cdef}), its size, its bytes. */
    public record Upload(String name, long size, Opener opener) {
        public Upload {
            checkName(name);
            if (size < 0) {
                throw new IllegalArgumentException("negative size " + size + " for " + name);
            }
        }
    }

    static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a content name: '" + name + "'");
        }
        return name;
    }

    /** A temp folder name unique to one upload. */
    public static String incoming(String parent) {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return parent + "/incoming-" + HexFormat.of().formatHex(b);
    }

    /**
     * Which of {@code names} are not in {@code dir} on the host (created if missing), in one command. With a
     * {@code marker}: when it exists, the answer comes before any name is sent (null: nothing to do), and when
     * none is missing, the same command creates it.
     *
     * @param what what the files are, for messages ("code files", "store blobs")
     * @return the missing names, or null when the marker was there
     */
    static List<String> missing(HostChannel c, String dir, Collection<String> names, String marker, String what) throws IOException {
        return missing(c, dir, names, marker, what, () -> { });
    }

    /** {@link #missing(HostChannel, String, Collection, String, String)}, calling {@code onNeed} when the host asked for the names. */
    private static List<String> missing(HostChannel c, String dir, Collection<String> names, String marker, String what,
                                        Runnable onNeed) throws IOException {
        Set<String> asked = new LinkedHashSet<>();
        for (String n : names) {
            asked.add(checkName(n));
        }
        String[] reply = new String[2];
        HostChannel.Result r = c.exec(List.of("sh", "-c", MISSING, "sortie-missing", dir, marker == null ? "" : marker),
                (stdin, stdout) -> {
                    reply[0] = firstLine(stdout);
                    if ("need".equals(reply[0])) {
                        onNeed.run();
                        writeLines(stdin, asked);
                        stdin.close();
                        reply[1] = new String(stdout.readAllBytes(), StandardCharsets.US_ASCII);
                    }
                }, IDLE_TIMEOUT);
        if (!r.ok() || reply[0] == null || !(reply[0].equals("have") || reply[0].equals("need"))) {
            throw new IOException("cannot check which of " + asked.size() + " " + what + " " + c.where() + " has in "
                    + dir + ": " + (r.ok() ? "unexpected answer '" + reply[0] + "'" : failure(r)));
        }
        if (reply[0].equals("have")) {
            return null;
        }
        List<String> missing = new ArrayList<>();
        for (String line : reply[1].split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (!asked.contains(line)) {
                throw new IOException("checking " + what + " in " + dir + " on " + c.where()
                        + ": the host answered a name that was not asked for: '" + HostChannel.abbreviate(line) + "'");
            }
            missing.add(line);
        }
        return missing;
    }

    /** The first line of a reply (without its newline), or null at EOF; reads no further. */
    private static String firstLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (sb.length() > 100) {
                break;
            }
            sb.append((char) b);
        }
        return b < 0 && sb.length() == 0 ? null : sb.toString();
    }

    /** Chooses what to send once the missing names are known. */
    @FunctionalInterface
    public interface Planner {
        List<Upload> plan(List<String> missing) throws IOException;
    }

    /** What {@link #send} did: the marker was there (nothing listed), or how many files and bytes went. */
    public record Sent(boolean markerFound, int files, long bytes) {
    }

    /**
     * The files of {@code names} that {@code dir} lacks, sent: {@link #missing}, then {@link #upload} of what it found.
     *
     * <p>With {@code overlap}, the two round trips overlap: as soon as the host asks for the names, the upload's
     * command starts on a second channel of the same connection, so its login shell starts while the listing runs
     * and the tar stream begins the moment the list is known. A changed tree then costs the time of about one
     * command, not two (each is a round trip and a start of the user's login shell, ~0.1 s with a .bashrc that sets
     * up pyenv or conda). When nothing turns out to be missing, that command gets an empty stream and just creates
     * the marker. Without {@code overlap} (for sets that are usually all there), nothing missing costs one command.
     * A marker that exists costs one command either way.
     */
    static Sent send(HostChannel c, String dir, Collection<String> names, String marker, String tmpParent, Planner planner,
                     SyncProgress progress, String what, boolean overlap) throws IOException {
        if (!overlap) {
            List<String> missing = missing(c, dir, names, marker, what);
            if (missing == null) {
                return new Sent(true, 0, 0);
            }
            List<Upload> plan = missing.isEmpty() ? List.of() : planner.plan(missing);
            long bytes = plan.isEmpty() ? 0 : upload(c, incoming(tmpParent), dir, () -> plan, marker, progress, what);
            return new Sent(false, plan.size(), bytes);
        }
        CompletableFuture<Boolean> need = new CompletableFuture<>();
        CompletableFuture<List<Upload>> plan = new CompletableFuture<>();
        Thread lister = new Thread(() -> {
            try {
                List<String> missing = missing(c, dir, names, marker, what, () -> need.complete(true));
                if (missing == null) {
                    need.complete(false);
                } else {
                    plan.complete(planner.plan(missing));
                }
            } catch (Throwable e) {
                need.completeExceptionally(e);
                plan.completeExceptionally(e);
            }
        }, "sortie-list " + c.where());
        lister.setDaemon(true);
        lister.start();
        if (!join(need)) {
            return new Sent(true, 0, 0);
        }
        List<Upload> sent = new ArrayList<>();
        long bytes = upload(c, incoming(tmpParent), dir, () -> {
            sent.addAll(join(plan));
            return sent;
        }, marker, progress, what);
        return new Sent(false, sent.size(), bytes);
    }

    /** The future's value, or what made it fail (an IOException as it was thrown). */
    private static <T> T join(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while listing files on the host");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** The files to upload, possibly not known yet when the upload's command starts. */
    @FunctionalInterface
    public interface Uploads {
        List<Upload> get() throws IOException;
    }

    /**
     * Sends {@code files} as one tar stream into {@code dest} on the host: extracted into {@code tmp} (a fresh
     * {@link #incoming} folder on the same file system), then renamed into place, so a cut stream (dropped
     * connection, killed process, a local read error) never leaves a partial file under a file's name. Files are
     * written read-only: they are content-addressed and must never change in place. With {@code marker}, the
     * host creates it after the last file is in place.
     *
     * @param files called once the command runs; a failure of its own aborts the upload with that failure
     * @return the bytes sent (the files' contents)
     */
    static long upload(HostChannel c, String tmp, String dest, Uploads files, String marker, SyncProgress progress,
                       String what) throws IOException {
        Meter[] meter = new Meter[1];
        HostChannel.Result r;
        try {
            r = c.exec(List.of("sh", "-c", UPLOAD, "sortie-upload", tmp, dest, marker == null ? "" : marker),
                    stdin -> {
                        List<Upload> list = files.get();
                        meter[0] = new Meter(list.isEmpty() ? SyncProgress.NONE : progress, list.size(),
                                list.stream().mapToLong(Upload::size).sum());
                        writeTar(stdin, list, meter[0], c.where());
                    }, OutputStream.nullOutputStream(), IDLE_TIMEOUT);
        } catch (IOException e) {
            removeQuietly(c, tmp);
            throw e;
        }
        if (!r.ok()) {
            HostDiskFull full = HostDiskFull.check(c, r, dest, meter[0] == null ? what : meter[0].files + " " + what,
                    meter[0] == null ? -1 : meter[0].total);
            if (full != null) {
                throw full;
            }
            String size = meter[0] == null ? "" : " (" + meter[0].files + " files, " + meter[0].total + " bytes)";
            throw new IOException("cannot upload " + what + size + " to " + dest + " on " + c.where() + ": "
                    + failure(r));
        }
        meter[0].done();
        return meter[0].total;
    }

    /**
     * An upload cut on this side (a local read error) leaves the host's shell waiting on a stream that has no end
     * until the connection closes (sshd keeps its stdin open when no EOF came): its temp folder goes now, on the
     * same connection if it still works. The completion entry never arrived, so nothing of it was moved into place.
     */
    private static void removeQuietly(HostChannel c, String tmp) {
        try {
            if (c.isOpen()) {
                c.exec(List.of("rm", "-rf", "--", tmp), java.time.Duration.ofSeconds(30));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0} on the host was not removed now (a later sweep does): {1}", tmp, e);
            // the sweep of old incoming-* folders gets it later
        }
    }

    private static void writeTar(OutputStream stdin, List<Upload> files, Meter meter, String host) throws IOException {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(stdin);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX); // checkpoints may pass ustar's 8 GiB
        FileTime now = FileTime.from(Instant.now());
        byte[] buf = new byte[BUFFER];
        for (Upload u : files) {
            tar.putArchiveEntry(entry(u.name(), u.size(), now));
            long left = u.size();
            try (InputStream in = u.opener().open()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (n > left) {
                        throw new IOException("cannot send " + u.name() + " to " + host + ": it has more than its "
                                + u.size() + " bytes; it changed while being sent");
                    }
                    tar.write(buf, 0, n);
                    left -= n;
                    meter.bytes(n);
                }
            }
            if (left != 0) {
                throw new IOException("cannot send " + u.name() + " to " + host + ": it ended " + left + " bytes short of its "
                        + u.size() + " bytes; it changed while being sent");
            }
            tar.closeArchiveEntry();
            meter.file();
        }
        tar.putArchiveEntry(entry(COMPLETE, 0, now));
        tar.closeArchiveEntry();
        tar.finish();
        tar.flush();
    }

    private static TarArchiveEntry entry(String name, long size, FileTime mtime) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(size);
        e.setMode(0100444);
        e.setLastModifiedTime(mtime);
        e.setIds(0, 0);
        e.setUserName("");
        e.setGroupName("");
        return e;
    }

    static void writeLines(OutputStream out, Collection<String> lines) throws IOException {
        StringBuilder sb = new StringBuilder(lines.size() * 66);
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
    }

    /** The host's own words for a failed command, or its exit status when it said nothing. */
    static String failure(HostChannel.Result r) {
        String err = r.stderr().strip();
        String status = r.exitCode() == null ? "no exit status (killed by a signal?)" : "exit status " + r.exitCode();
        return err.isEmpty() ? status : err + " (" + status + ")";
    }

    /** Counts what goes through and calls the progress callback: at the start, at most every 200 ms, at the end. */
    public static final class Meter {
        private final SyncProgress progress;
        private final long files;
        private final long total;
        private long filesDone;
        private long bytesDone;
        private long last = System.nanoTime();

        Meter(SyncProgress progress, long files, long total) {
            this.progress = progress;
            this.files = files;
            this.total = total;
            report();
        }

        void bytes(long n) {
            bytesDone += n;
            long now = System.nanoTime();
            if (now - last >= PROGRESS_EVERY_NANOS) {
                last = now;
                report();
            }
        }

        void file() {
            filesDone++;
        }

        private void report() {
            progress.update(filesDone, files, bytesDone, total);
        }

        void done() {
            filesDone = files;
            if (total >= 0) {
                bytesDone = total;
            }
            report();
        }
    }
}
