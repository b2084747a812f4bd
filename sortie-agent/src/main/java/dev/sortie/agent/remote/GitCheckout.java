package dev.sortie.agent.remote;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Makes a work folder, already laid out from the host's code cache, a git checkout of the snapshot commit, with no
 * git binary on the host (PRODUCT.md: a node needs no git) and no git library in the agent: the formats written
 * here are git's own, small and stable (loose objects, the index version 2, a detached {@code HEAD}).
 *
 * <ul>
 *   <li>the commit, its trees and the files' blobs, which the launching side sent into the code cache by git id (raw
 *       contents), become loose objects in the host's git object folder {@code cache/git/objects}, shared by every
 *       run on the host and written once per object;</li>
 *   <li>the work folder's {@code .git} borrows them through git's alternates, has {@code HEAD} detached at the commit,
 *       is shallow there (the commit's parents are not on the host), and has an index that matches the files as
 *       written, with their stat data, so {@code git status} is clean without reading them again.</li>
 * </ul>
 *
 * So {@code git rev-parse}, {@code git status}, DVC and dvclive see a clean repository at the experiment's commit, as
 * in a local run. Removing the work folder removes all of it but the shared objects.
 */
final class GitCheckout {
    private static final System.Logger LOG = System.getLogger(GitCheckout.class.getName());

    /** Puts an object (by its git id and type) into the code cache if it is not there yet; see {@link CodeCache#fillObject}. */
    @FunctionalInterface
    interface Fill {
        void ensure(String id, String type) throws IOException;
    }

    /** One entry of the index: path ('/'-separated), git mode (octal as in a tree) and object id. */
    private record Entry(byte[] path, int mode, byte[] id) {
    }

    private final Path codeCache;
    private final Path objects;
    private final Fill fill;

    /**
     * @param codeCache the host's code cache ({@code cache/code}): contents by git id
     * @param objects   the host's shared git object folder ({@code cache/git/objects})
     */
    GitCheckout(Path codeCache, Path objects, Fill fill) {
        this.codeCache = codeCache;
        this.objects = objects;
        this.fill = fill;
    }

    /** Makes {@code work} (its files laid out from {@code commit}'s tree) a git checkout of {@code commit}. */
    void write(String commit, Path work) throws IOException {
        if (!commit.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new IOException("'" + commit + "' is not a commit id");
        }
        boolean sha256 = commit.length() == 64;
        fill.ensure(commit, "commit");
        byte[] raw = Files.readAllBytes(codeCache.resolve(commit));
        String text = new String(raw, StandardCharsets.UTF_8);
        if (!text.startsWith("tree ")) {
            throw new IOException("code cache object " + codeCache.resolve(commit) + " is not a commit (no 'tree' line)");
        }
        String tree = text.substring(5, text.indexOf('\n'));
        boolean hasParents = text.contains("\nparent ");
        storeLoose(commit, "commit", raw);
        List<Entry> entries = new ArrayList<>();
        walk(tree, "", sha256, entries);

        Path git = work.resolve(".git");
        if (Files.exists(git, LinkOption.NOFOLLOW_LINKS)) {
            dev.sortie.core.util.FileTrees.delete(git); // a reused work folder's, of another commit
        }
        Files.createDirectories(git.resolve("objects").resolve("info"));
        Files.createDirectories(git.resolve("refs").resolve("heads"));
        Files.createDirectories(git.resolve("refs").resolve("tags"));
        Files.createDirectories(git.resolve("info"));
        Files.writeString(git.resolve("HEAD"), commit + "\n", StandardCharsets.US_ASCII);
        Files.writeString(git.resolve("config"), "[core]\n\trepositoryformatversion = " + (sha256 ? 1 : 0)
                + "\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n"
                // the objects are borrowed from the host's shared folder: never repack or prune them here
                + "[gc]\n\tauto = 0\n"
                + (sha256 ? "[extensions]\n\tobjectformat = sha256\n" : ""), StandardCharsets.UTF_8);
        Files.writeString(git.resolve("objects").resolve("info").resolve("alternates"),
                objects.toAbsolutePath().normalize() + "\n", StandardCharsets.UTF_8);
        if (hasParents) {
            Files.writeString(git.resolve("shallow"), commit + "\n", StandardCharsets.US_ASCII);
        }
        // the agent's record of what it laid out is no file of the project
        Files.writeString(git.resolve("info").resolve("exclude"), "/" + WorkFolderReuse.LAYOUT + "\n", StandardCharsets.UTF_8);
        writeIndex(git.resolve("index"), entries, work, sha256);
    }

    private void walk(String treeId, String prefix, boolean sha256, List<Entry> out) throws IOException {
        fill.ensure(treeId, "tree");
        byte[] raw = Files.readAllBytes(codeCache.resolve(treeId));
        storeLoose(treeId, "tree", raw);
        int idLen = sha256 ? 32 : 20;
        int i = 0;
        while (i < raw.length) {
            int space = indexOf(raw, (byte) ' ', i);
            int nul = indexOf(raw, (byte) 0, space);
            if (space < 0 || nul < 0 || nul + 1 + idLen > raw.length) {
                throw new IOException("tree " + treeId + " in " + codeCache + " is malformed at byte " + i);
            }
            int mode = Integer.parseInt(new String(raw, i, space - i, StandardCharsets.US_ASCII), 8);
            String name = new String(raw, space + 1, nul - space - 1, StandardCharsets.UTF_8);
            byte[] id = Arrays.copyOfRange(raw, nul + 1, nul + 1 + idLen);
            String hex = HexFormat.of().formatHex(id);
            String path = prefix + name;
            if (mode == 040000) {
                walk(hex, path + "/", sha256, out);
            } else {
                if (mode != 0160000) { // a submodule's commit is not here, as in any clone without its submodules
                    blob(hex);
                }
                out.add(new Entry(path.getBytes(StandardCharsets.UTF_8), mode, id));
            }
            i = nul + 1 + idLen;
        }
    }

    private void blob(String id) throws IOException {
        Path loose = loosePath(id);
        if (Files.exists(loose)) {
            return;
        }
        try (InputStream in = Files.newInputStream(codeCache.resolve(id))) {
            writeLoose(loose, "blob", Files.size(codeCache.resolve(id)), in);
        }
    }

    private void storeLoose(String id, String type, byte[] raw) throws IOException {
        Path loose = loosePath(id);
        if (!Files.exists(loose)) {
            writeLoose(loose, type, raw.length, new java.io.ByteArrayInputStream(raw));
        }
    }

    private Path loosePath(String id) {
        return objects.resolve(id.substring(0, 2)).resolve(id.substring(2));
    }

    /** Git's loose object: zlib of "TYPE SIZE\0" and the content; put in place whole (another agent may race). */
    private void writeLoose(Path loose, String type, long size, InputStream content) throws IOException {
        Files.createDirectories(loose.getParent());
        Path tmp = loose.resolveSibling(loose.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId());
        try {
            try (OutputStream out = new DeflaterOutputStream(Files.newOutputStream(tmp), new Deflater(Deflater.BEST_SPEED), 1 << 16)) {
                out.write((type + " " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                content.transferTo(out);
            }
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
            try {
                Files.move(tmp, loose, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException e) {
                LOG.log(System.Logger.Level.TRACE, "{0} written meanwhile by another run", loose);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The index, version 2: each entry with the stat data of the file as laid out, sorted by path bytes. */
    private static void writeIndex(Path index, List<Entry> entries, Path work, boolean sha256) throws IOException {
        entries.sort((a, b) -> Arrays.compareUnsigned(a.path(), b.path()));
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance(sha256 ? "SHA-256" : "SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.size() * 96);
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeBytes("DIRC");
        out.writeInt(2);
        out.writeInt(entries.size());
        for (Entry e : entries) {
            int start = out.size();
            if (e.mode() == 0160000) {
                out.write(new byte[24]); // a gitlink has no file here: no ctime, mtime, dev, ino
            } else {
                Path file = work.resolve(new String(e.path(), StandardCharsets.UTF_8));
                Map<String, Object> a = Files.readAttributes(file, "unix:*", LinkOption.NOFOLLOW_LINKS);
                time(out, (FileTime) a.get("ctime"));
                time(out, (FileTime) a.get("lastModifiedTime"));
                out.writeInt(((Number) a.get("dev")).intValue());
                out.writeInt(((Number) a.get("ino")).intValue());
                out.writeInt(e.mode());
                out.writeInt(((Number) a.get("uid")).intValue());
                out.writeInt(((Number) a.get("gid")).intValue());
                out.writeInt((int) ((Number) a.get("size")).longValue());
                out.write(e.id());
                out.writeShort(Math.min(e.path().length, 0xFFF));
                out.write(e.path());
                int written = out.size() - start;
                out.write(new byte[8 - written % 8]); // 1 to 8 NULs: the path's end and the padding to 8 bytes
                continue;
            }
            out.writeInt(e.mode());
            out.write(new byte[12]); // uid, gid, size
            out.write(e.id());
            out.writeShort(Math.min(e.path().length, 0xFFF));
            out.write(e.path());
            int written = out.size() - start;
            out.write(new byte[8 - written % 8]);
        }
        out.flush();
        byte[] body = bytes.toByteArray();
        digest.update(body);
        Path tmp = index.resolveSibling("index.lock");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            o.write(body);
            o.write(digest.digest());
        }
        Files.move(tmp, index, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void time(DataOutputStream out, FileTime t) throws IOException {
        java.time.Instant i = t.toInstant();
        out.writeInt((int) i.getEpochSecond());
        out.writeInt(i.getNano());
    }

    private static int indexOf(byte[] a, byte b, int from) {
        if (from < 0) {
            return -1;
        }
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
