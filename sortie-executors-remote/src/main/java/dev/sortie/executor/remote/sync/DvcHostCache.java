package dev.sortie.executor.remote.sync;

import dev.sortie.core.engine.DvcCacheLink;
import dev.sortie.core.executor.CodeFile;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A DVC project's cache on a host: {@code <remote_dir>/cache/dvc/<project key>}, one folder per project (a project's
 * run-cache is its own), shared by every run of that project on the host. A run's work copy there gets a
 * {@code .dvc/config.local} naming it (and the user's {@code cache.type}), so {@code dvc checkout} links the
 * project's tracked data out of it and {@code dvc repro} skips what it already holds.
 *
 * <ul>
 *   <li>Before a run, the cache objects the snapshot names (every md5 of its {@code .dvc} files and {@code dvc.lock},
 *       and the files of a directory's {@code .dir} listing) that the user's cache holds and the host lacks are sent
 *       by name ({@code files/md5/ab/cdef..}): one command when the host has them all, nothing sent twice.</li>
 *   <li>After a run, what DVC added to the host's cache (outs and run-cache entries) that the user's cache lacks comes
 *       back into the user's cache, each md5-named file checked against its content, so a later local run skips
 *       those stages too.</li>
 * </ul>
 *
 * Only DVC 3's layout ({@code files/md5/}) is moved; a 2.x cache's top-level objects are left to the project's DVC
 * remote ({@code dvc pull} in {@code setup:}).
 */
public final class DvcHostCache {
    private static final Pattern MD5 = Pattern.compile("(?m)\\bmd5:\\s*'?\"?([0-9a-f]{32}(?:\\.dir)?)");
    private static final Pattern DIR_ENTRY_MD5 = Pattern.compile("\"md5\"\\s*:\\s*\"([0-9a-f]{32})\"");
    /** What may come back: md5-named objects and run-cache entries, nothing else (a temp file, a lock). */
    private static final Pattern BACK = Pattern.compile("files/md5/[0-9a-f]{2}/[0-9a-f]{30}(\\.dir)?|runs/[0-9a-f]{2}/[0-9a-f]{2,128}/[0-9a-f]{2,128}");
    private static final int BATCH = 2000;
    /** $1 the cache folder: its objects and run-cache entries, one a line. */
    private static final String LIST = """
            cd "$1" 2>/dev/null || exit 0
            find files/md5 runs -type f 2>/dev/null
            exit 0
            """;
    private final DvcCacheLink local;
    private final String hostDir;
    private final String markers;
    private final String tmp;

    private DvcHostCache(DvcCacheLink local, String hostDir, String markers, String tmp) {
        this.local = local;
        this.hostDir = hostDir;
        this.markers = markers;
        this.tmp = tmp;
    }

    /** The host cache of the DVC project in {@code projectDir} (empty when it is not one). */
    public static Optional<DvcHostCache> of(Path projectDir, RemoteLayout layout) {
        if (projectDir == null) {
            return Optional.empty();
        }
        return DvcCacheLink.of(projectDir).map(link -> {
            String key = CodeSync.treeId(List.of(projectDir.toAbsolutePath().normalize().toString())).substring(0, 16);
            return new DvcHostCache(link, layout.root() + "/cache/dvc/" + key, layout.root() + "/cache/dvc-sets", layout.root() + "/cache/tmp");
        });
    }

    /** The cache folder on the host. */
    public String hostDir() {
        return hostDir;
    }

    /** The work copy's {@code .dvc/config.local} on the host. */
    public byte[] localConfig() {
        StringBuilder s = new StringBuilder("# written by sortie: this run uses the project's DVC cache on this host\n[cache]\n");
        s.append("    dir = ").append(hostDir).append('\n');
        if (local.cacheType() != null) {
            s.append("    type = ").append(local.cacheType()).append('\n');
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** What {@link #send} did: objects the snapshot names that the user's cache has, and how many went. */
    public record Sent(int named, int files, long bytes) {
    }

    /** Sends the cache objects the snapshot's DVC files name that the host lacks. */
    public Sent send(HostChannel c, List<CodeFile> files, CodeSync.BlobOpener opener, SyncProgress progress) throws IOException {
        Set<String> md5s = new LinkedHashSet<>();
        for (CodeFile f : files) {
            String name = f.path().substring(f.path().lastIndexOf('/') + 1);
            if (f.kind() != CodeFile.Kind.SYMLINK && (name.equals("dvc.lock") || name.endsWith(".dvc")) && f.size() < (8 << 20)) {
                try (InputStream in = opener.open(f.blobId())) {
                    Matcher m = MD5.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                    while (m.find()) {
                        md5s.add(m.group(1));
                    }
                }
            }
        }
        Path objects = local.cacheDir().resolve("files").resolve("md5");
        List<String> names = new ArrayList<>();
        for (String md5 : md5s) {
            Path object = objects.resolve(md5.substring(0, 2)).resolve(md5.substring(2));
            if (!Files.isRegularFile(object)) {
                continue; // not in the user's cache either (a dependency that is code, or data only in the DVC remote)
            }
            names.add(md5.substring(0, 2) + "/" + md5.substring(2));
            if (md5.endsWith(".dir")) {
                Matcher m = DIR_ENTRY_MD5.matcher(Files.readString(object, StandardCharsets.UTF_8));
                while (m.find()) {
                    String entry = m.group(1);
                    if (Files.isRegularFile(objects.resolve(entry.substring(0, 2)).resolve(entry.substring(2)))) {
                        names.add(entry.substring(0, 2) + "/" + entry.substring(2));
                    }
                }
            }
        }
        if (names.isEmpty()) {
            return new Sent(0, 0, 0);
        }
        List<String> distinct = List.copyOf(new LinkedHashSet<>(names));
        String marker = markers + "/" + CodeSync.treeId(distinct.stream().map(n -> hostDir + "/" + n).toList());
        RemoteFiles.Sent sent = RemoteFiles.send(c, hostDir + "/files/md5", distinct, marker, tmp, missing -> {
            List<RemoteFiles.Upload> uploads = new ArrayList<>(missing.size());
            for (String n : missing) {
                Path p = objects.resolve(n);
                uploads.add(new RemoteFiles.Upload(n, Files.size(p), () -> Files.newInputStream(p)));
            }
            return uploads;
        }, progress == null ? SyncProgress.NONE : progress, "DVC cache files", false);
        return new Sent(distinct.size(), sent.files(), sent.bytes());
    }

    /**
     * Brings what DVC added to the host's cache during the project's runs there (outs, run-cache entries) that the
     * user's cache lacks into the user's cache; returns how many files came.
     */
    public int bringBack(HostChannel c) throws IOException {
        HostChannel.Result list = c.exec(List.of("sh", "-c", LIST, "sortie-dvc-list", hostDir), RemoteFiles.IDLE_TIMEOUT);
        if (!list.ok()) {
            throw new IOException("cannot list the DVC cache " + hostDir + " on " + c.where() + ": " + RemoteFiles.failure(list));
        }
        List<String> wanted = new ArrayList<>();
        for (String line : list.stdout().split("\n")) {
            if (BACK.matcher(line).matches() && !Files.exists(local.cacheDir().resolve(line))) {
                wanted.add(line);
            }
        }
        int[] received = {0};
        String host = c.where();
        TarDownload.fetch(c, hostDir, wanted, BATCH, "DVC cache files", (name, size, content) -> {
            store(name, content, host);
            received[0]++;
        });
        return received[0];
    }

    /** One object or run-cache entry into the user's cache, atomically, an md5-named one checked against its content. */
    private void store(String name, InputStream content, String host) throws IOException {
        Path target = local.cacheDir().resolve(name);
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".sortie-" + ProcessHandle.current().pid());
        MessageDigest md5 = md5();
        try {
            try (OutputStream out = Files.newOutputStream(part)) {
                byte[] buf = new byte[1 << 16];
                for (int r; (r = content.read(buf)) > 0; ) {
                    md5.update(buf, 0, r);
                    out.write(buf, 0, r);
                }
            }
            if (name.startsWith("files/md5/")) {
                String want = name.substring("files/md5/".length()).replace("/", "").replace(".dir", "");
                String got = HexFormat.of().formatHex(md5.digest());
                if (!got.equals(want)) {
                    throw new IOException("DVC cache file " + name + " from " + host + " is corrupt: its content's md5 is " + got);
                }
            }
            Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("r--r--r--")); // as DVC keeps its cache
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "DVC cache " + hostDir + " (user's " + local.cacheDir() + ")";
    }
}
