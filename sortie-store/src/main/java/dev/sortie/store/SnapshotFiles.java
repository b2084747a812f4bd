package dev.sortie.store;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Writes the files of a snapshot tree to disk: all at once into a fresh folder ({@link #materialize}), or only
 * where they differ into a live workspace ({@link #apply}). Regular files keep their exec bit, symbolic links are
 * recreated as links, submodules become empty folders (as a fresh git clone leaves them).
 */
final class SnapshotFiles {
    private static final int MAX_LISTED_CONFLICTS = 10;

    /** One file of a snapshot: path relative to the tree, '/'-separated. */
    record Item(String path, FileMode mode, ObjectId id) {
    }

    private final ObjectReader reader;
    private final SecureRandom random = new SecureRandom();

    SnapshotFiles(ObjectReader reader) {
        this.reader = reader;
    }

    /** All files of {@code tree}; refuses paths that could escape the folder they are written to. */
    List<Item> list(ObjectId tree, String what) throws IOException {
        List<Item> items = new ArrayList<>();
        if (tree == null) {
            return items;
        }
        try (TreeWalk tw = new TreeWalk(reader)) {
            tw.addTree(tree);
            tw.setRecursive(true);
            while (tw.next()) {
                String path = tw.getPathString();
                if (!GitNames.isSafeTreePath(path)) {
                    throw new IOException(what + " holds the path '" + path + "', which cannot be written safely");
                }
                items.add(new Item(path, tw.getFileMode(0), tw.getObjectId(0)));
            }
        }
        return items;
    }

    /** Writes every file of {@code tree} into {@code target} (created if missing; meant to be empty); returns what it wrote. */
    List<Item> materialize(ObjectId tree, Path target, String what) throws IOException {
        Files.createDirectories(target);
        Folders folders = new Folders(target);
        List<Item> items = list(tree, what);
        for (Item item : items) {
            Path file = target.resolve(item.path());
            folders.ensure(file.getParent());
            if (FileMode.GITLINK.equals(item.mode())) {
                folders.ensure(file);
                continue;
            }
            try {
                writeNew(file, item);
            } catch (FileAlreadyExistsException leftover) {
                // Not an empty folder after all. Replace what is there; never write through a leftover link.
                Files.delete(file);
                writeNew(file, item);
            }
        }
        return items;
    }

    /** Creates {@code file}, which must not exist yet (CREATE_NEW also refuses to follow a link in its place). */
    private void writeNew(Path file, Item item) throws IOException {
        if (FileMode.SYMLINK.equals(item.mode())) {
            createLink(file, linkTarget(item.id()));
            return;
        }
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            reader.open(item.id(), Constants.OBJ_BLOB).copyTo(out);
        }
        if (FileMode.EXECUTABLE_FILE.equals(item.mode())) {
            setExecutable(file, true);
        }
    }

    /**
     * Writes the files of {@code tree} that differ from what is in {@code workDir}, each through a temp file and a
     * rename; files that are not in the snapshot stay. Where the snapshot needs a file but the workspace has a folder
     * (or the reverse), nothing is written at all: resolving that would mean deleting the user's files.
     */
    int apply(ObjectId tree, Path workDir, Predicate<String> skip, String what) throws IOException {
        List<Item> items = new ArrayList<>();
        for (Item item : list(tree, what)) {
            if (!skip.test(item.path()) && !FileMode.GITLINK.equals(item.mode())) {
                items.add(item);
            }
        }
        checkNoClashes(items, workDir);
        Folders folders = new Folders(workDir);
        int written = 0;
        for (Item item : items) {
            Path file = workDir.resolve(item.path());
            folders.ensure(file.getParent());
            BasicFileAttributes now = attributes(file);
            if (FileMode.SYMLINK.equals(item.mode())) {
                String target = linkTarget(item.id());
                if (now != null && now.isSymbolicLink() && Files.readSymbolicLink(file).toString().equals(target)) {
                    continue;
                }
                Path tmp = tempSibling(file);
                createLink(tmp, target);
                moveInto(tmp, file);
            } else {
                boolean exec = FileMode.EXECUTABLE_FILE.equals(item.mode());
                if (now != null && now.isRegularFile() && sameContent(file, now.size(), item.id())) {
                    if (isExecutable(file) != exec) {
                        setExecutable(file, exec);
                        written++;
                    }
                    continue;
                }
                Path tmp = tempSibling(file);
                try {
                    try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        reader.open(item.id(), Constants.OBJ_BLOB).copyTo(out);
                    }
                    if (exec) {
                        setExecutable(tmp, true);
                    }
                    moveInto(tmp, file);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
            written++;
        }
        return written;
    }

    private static void checkNoClashes(List<Item> items, Path workDir) throws IOException {
        List<String> clashes = new ArrayList<>();
        Set<String> checkedFolders = new HashSet<>();
        Set<String> blockedFolders = new HashSet<>();
        for (Item item : items) {
            String[] parts = item.path().split("/");
            StringBuilder folder = new StringBuilder();
            boolean blocked = false;
            for (int i = 0; i < parts.length - 1 && !blocked; i++) {
                folder.append(i == 0 ? "" : "/").append(parts[i]);
                String f = folder.toString();
                if (blockedFolders.contains(f)) {
                    blocked = true;
                } else if (checkedFolders.add(f)) {
                    BasicFileAttributes a = attributes(workDir.resolve(f));
                    if (a != null && !a.isDirectory()) {
                        clashes.add(f + " is a " + (a.isSymbolicLink() ? "link" : "file") + " here but a folder in the snapshot");
                        blockedFolders.add(f);
                        blocked = true;
                    }
                }
            }
            if (blocked) {
                continue; // nothing below a file can be looked at (or written)
            }
            BasicFileAttributes a = attributes(workDir.resolve(item.path()));
            if (a != null && a.isDirectory()) {
                clashes.add(item.path() + " is a folder here but a file in the snapshot");
            }
        }
        if (!clashes.isEmpty()) {
            List<String> shown = clashes.subList(0, Math.min(clashes.size(), MAX_LISTED_CONFLICTS));
            throw new IOException("cannot apply the snapshot to " + workDir + " without deleting files; move these away first: "
                    + String.join("; ", shown) + (clashes.size() > shown.size() ? "; and " + (clashes.size() - shown.size()) + " more" : ""));
        }
    }

    private boolean sameContent(Path file, long size, ObjectId id) throws IOException {
        if (size != reader.getObjectSize(id, Constants.OBJ_BLOB)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return new ObjectInserter.Formatter().idFor(Constants.OBJ_BLOB, size, in).equals(id);
        } catch (NoSuchFileException gone) {
            return false;
        }
    }

    private String linkTarget(ObjectId id) throws IOException {
        ObjectLoader ol = reader.open(id, Constants.OBJ_BLOB);
        return new String(ol.getCachedBytes(), StandardCharsets.UTF_8);
    }

    private static void createLink(Path link, String target) throws IOException {
        try {
            Files.createSymbolicLink(link, link.getFileSystem().getPath(target));
        } catch (UnsupportedOperationException noLinks) {
            // Where links cannot be made, git (core.symlinks=false) writes the target as the file's text.
            Files.writeString(link, target, StandardCharsets.UTF_8);
        }
    }

    private static void moveInto(Path tmp, Path file) throws IOException {
        // rename(2) replaces a file or a link atomically: a reader sees the old content or the new, never half.
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    }

    private Path tempSibling(Path file) {
        byte[] b = new byte[6];
        random.nextBytes(b);
        String name = file.getFileName().toString();
        if (name.length() > 180) {
            name = name.substring(0, 180);
        }
        return file.resolveSibling("." + name + ".sortie-" + HexFormat.of().formatHex(b) + ".tmp");
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException missing) {
            return null;
        }
    }

    private static boolean isExecutable(Path file) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return Files.isExecutable(file);
        }
        return view.readAttributes().permissions().contains(PosixFilePermission.OWNER_EXECUTE);
    }

    /** Like git: executable means x wherever r is (0644 becomes 0755), not executable clears every x. */
    static void setExecutable(Path file, boolean exec) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            file.toFile().setExecutable(exec);
            return;
        }
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        perms.addAll(view.readAttributes().permissions());
        if (exec) {
            if (perms.contains(PosixFilePermission.OWNER_READ)) {
                perms.add(PosixFilePermission.OWNER_EXECUTE);
            }
            if (perms.contains(PosixFilePermission.GROUP_READ)) {
                perms.add(PosixFilePermission.GROUP_EXECUTE);
            }
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                perms.add(PosixFilePermission.OTHERS_EXECUTE);
            }
        } else {
            perms.removeAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE));
        }
        view.setPermissions(perms);
    }

    /**
     * Creates folders below a root one level at a time, refusing to pass through anything that is not a real folder,
     * so a symbolic link in the way can never carry a write outside the root.
     */
    private static final class Folders {
        private final Path root;
        private final Set<Path> known = new HashSet<>();

        Folders(Path root) {
            this.root = root;
        }

        void ensure(Path dir) throws IOException {
            if (dir.equals(root) || known.contains(dir)) {
                return;
            }
            if (!dir.startsWith(root)) {
                throw new IOException(dir + " is outside " + root);
            }
            ensure(dir.getParent());
            BasicFileAttributes a = attributes(dir);
            if (a == null) {
                try {
                    Files.createDirectory(dir);
                } catch (FileAlreadyExistsException raced) {
                    a = attributes(dir);
                }
            }
            if (a != null && !a.isDirectory()) {
                throw new IOException(dir + " is in the way: a " + (a.isSymbolicLink() ? "link" : "file")
                        + " where the snapshot has a folder");
            }
            known.add(dir);
        }
    }
}
