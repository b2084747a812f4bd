package dev.sortie.agent.remote;

import dev.sortie.core.executor.CodeFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Set;

/**
 * The host's node-local cache of code blobs ({@code cache/code/<git blob id>}), shared by every experiment on
 * the host. A run's work folder is laid out from it so that no run can change the cache under the next one:
 * small files are copies; files of {@link #LINK_AT_LEAST} bytes or more (data, weights) are hard links to the
 * cache's read-only blob, which costs nothing however big they are, and which the run can replace or delete but
 * not change in place. Where read-only does not hold (the agent runs as root, or the blob is writable), and for
 * executables, they are copied.
 */
public final class CodeCache {
    private static final System.Logger LOG = System.getLogger(CodeCache.class.getName());
    /** Below this a copy is as cheap as a link. */
    static final long LINK_AT_LEAST = 1 << 20;
    private final Path dir;
    private final boolean mayLink;

    public CodeCache(Path dir) {
        this(dir, !runsAsRoot());
    }

    CodeCache(Path dir, boolean mayLink) {
        this.dir = dir;
        this.mayLink = mayLink;
    }

    /** No write bit for anyone (the sync makes cache blobs 0444), whoever asks: root would pass an access check. */
    private static boolean readOnly(Path blob) throws IOException {
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(blob);
        return !p.contains(PosixFilePermission.OWNER_WRITE) && !p.contains(PosixFilePermission.GROUP_WRITE)
                && !p.contains(PosixFilePermission.OTHERS_WRITE);
    }

    private static boolean runsAsRoot() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot tell which user this is ({0}); code files are copied, not linked", e);
            return true; // cannot tell: copy, the safe side
        }
    }

    /**
     * Puts into the cache, from the project's store, the blobs of {@code files} it lacks: {@code code} maps a git
     * blob id to the SHA-256 the store holds it under (a run whose node reads the store; see the launching side's
     * StoreCode). Each blob's content is checked against its git id before it enters the cache, read-only like the
     * sync's. Blobs the map does not name are left to {@link #materialize}, which says they are missing.
     */
    public void fillFrom(List<CodeFile> files, Map<String, String> code, dev.sortie.core.store.BlobStore store) throws IOException {
        if (code.isEmpty()) {
            return;
        }
        Path tmpDir = dir.resolveSibling("tmp");
        for (CodeFile f : files) {
            Path blob = dir.resolve(f.blobId()).normalize();
            String sha = code.get(f.blobId());
            if (sha == null || !f.blobId().matches("[0-9a-f]{40}([0-9a-f]{24})?") || Files.exists(blob)) {
                continue;
            }
            Files.createDirectories(dir);
            Files.createDirectories(tmpDir);
            Path tmp = tmpDir.resolve("store-" + f.blobId() + "-" + ProcessHandle.current().pid());
            try {
                store.get(sha, tmp);
                String got = gitBlobId(tmp, f.blobId().length() == 64);
                if (!got.equals(f.blobId())) {
                    throw new IOException("blob " + sha + " of " + store.location() + " holds git blob " + got + ", not " + f.blobId()
                            + " ('" + f.path() + "')");
                }
                Files.setPosixFilePermissions(tmp, EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.GROUP_READ,
                        PosixFilePermission.OTHERS_READ));
                Files.move(tmp, blob, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Puts one git object (a commit or tree of {@link GitCheckout}) into the cache from the project's store when the
     * cache lacks it and {@code code} names it, checked against its git id for its type like {@link #fillFrom}'s
     * blobs. An object neither here nor in the store is said to be missing.
     */
    public void fillObject(String id, String type, Map<String, String> code, dev.sortie.core.store.BlobStore store) throws IOException {
        Path object = dir.resolve(id).normalize();
        if (!id.matches("[0-9a-f]{40}([0-9a-f]{24})?")) {
            throw new IOException("'" + id + "' is not a git object id");
        }
        if (Files.exists(object)) {
            return;
        }
        String sha = code.get(id);
        if (sha == null) {
            throw new IOException("git " + type + " " + id + " of the snapshot is not in the host's cache " + dir + ": the sync did not complete");
        }
        Path tmpDir = dir.resolveSibling("tmp");
        Files.createDirectories(dir);
        Files.createDirectories(tmpDir);
        Path tmp = tmpDir.resolve("store-" + id + "-" + ProcessHandle.current().pid());
        try {
            store.get(sha, tmp);
            String got = gitObjectId(tmp, type, id.length() == 64);
            if (!got.equals(id)) {
                throw new IOException("blob " + sha + " of " + store.location() + " holds git " + type + " " + got + ", not " + id);
            }
            Files.setPosixFilePermissions(tmp, EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.GROUP_READ,
                    PosixFilePermission.OTHERS_READ));
            Files.move(tmp, object, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Git's id of a file's content: SHA-1 (or SHA-256 for a SHA-256 repository) of "blob SIZE\0" and the bytes. */
    static String gitBlobId(Path file, boolean sha256) throws IOException {
        return gitObjectId(file, "blob", sha256);
    }

    private static String gitObjectId(Path file, String type, boolean sha256) throws IOException {
        try {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance(sha256 ? "SHA-256" : "SHA-1");
            d.update((type + " " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
            try (java.io.InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    d.update(buf, 0, n);
                }
            }
            return java.util.HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Lays {@code files} out in {@code root}: a fresh folder, or the work folder of a finished run on this host
     * (see {@link WorkFolderReuse}), whose {@link WorkFolderReuse#LAYOUT layout record} says what was written. A
     * file is kept when it is still exactly as written (same blob, kind, size and modification time, the check
     * rsync makes); everything else the old run left (changed files, outputs, new folders) goes, and what is
     * missing is written. Then the layout is recorded for the next reuse.
     */
    public void materialize(List<CodeFile> files, Path root) throws IOException {
        Path base = root.toAbsolutePath().normalize();
        Map<String, WorkFolderReuse.Entry> before = WorkFolderReuse.readLayout(base);
        Map<String, CodeFile> wanted = new HashMap<>();
        for (CodeFile f : files) {
            Path target = base.resolve(f.path()).normalize();
            if (!target.startsWith(base) || target.equals(base)) {
                throw new IOException("refusing to write '" + f.path() + "' outside the work folder");
            }
            if (!f.blobId().matches("[0-9a-f]{40}([0-9a-f]{24})?")) {
                throw new IOException("'" + f.path() + "' names a malformed blob id '" + f.blobId() + "'");
            }
            wanted.put(base.relativize(target).toString(), f);
        }
        java.util.Set<String> kept = before.isEmpty() ? java.util.Set.of() : WorkFolderReuse.prune(base, before, wanted);
        List<WorkFolderReuse.Entry> layout = new ArrayList<>(files.size());
        for (CodeFile f : files) {
            Path target = base.resolve(f.path()).normalize();
            String rel = base.relativize(target).toString();
            if (!kept.contains(rel)) {
                write(f, target);
            }
            layout.add(WorkFolderReuse.entry(rel, f, target));
        }
        WorkFolderReuse.writeLayout(base, layout);
    }

    private void write(CodeFile f, Path target) throws IOException {
        Path blob = dir.resolve(f.blobId());
        Files.createDirectories(target.getParent());
        try {
            if (f.kind() == CodeFile.Kind.SYMLINK) {
                Files.createSymbolicLink(target, Path.of(Files.readString(blob, StandardCharsets.UTF_8)));
                return;
            }
            if (mayLink && f.kind() == CodeFile.Kind.FILE && f.size() >= LINK_AT_LEAST && readOnly(blob)) {
                try {
                    Files.createLink(target, blob);
                    return;
                } catch (IOException | UnsupportedOperationException e) {
                    LOG.log(System.Logger.Level.TRACE, "{0} copied, not linked: {1}", target, e);
                    // another file system, or links not allowed: copy
                }
            }
            Files.copy(blob, target);
        } catch (NoSuchFileException e) {
            if (!Files.exists(blob)) {
                throw new IOException("the code of '" + f.path() + "' (blob " + f.blobId() + ") is not in the host's cache "
                        + dir + ": the sync did not complete", e);
            }
            throw e;
        }
        Set<PosixFilePermission> perms = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
        if (f.kind() == CodeFile.Kind.EXECUTABLE) {
            perms.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE));
        }
        Files.setPosixFilePermissions(target, perms);
    }
}
