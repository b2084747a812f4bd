package dev.sortie.store;

import dev.sortie.core.store.BlobStore;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Saves a file or a whole folder (checkpoints, artifacts) into a {@link BlobStore} as a list of
 * {@link ManifestEntry}s, and puts such a list back. Paths in entries are relative to a base folder so a manifest can
 * be restored anywhere.
 */
public final class Manifests {

    private Manifests() {
    }

    /**
     * Stores every regular file at {@code path} (a file or a folder; relative paths resolve against {@code baseDir},
     * which must contain it) and returns one entry per file, in walk order (sorted by name within each folder).
     * Files that vanish while the walk runs are skipped: a training job may be rotating its checkpoints. Symbolic links
     * are followed only when they point inside {@code baseDir}, so a link to {@code /} cannot upload the machine;
     * a link loop is walked once.
     */
    public static List<ManifestEntry> store(BlobStore store, Path baseDir, Path path) throws IOException {
        Path base = baseDir.toAbsolutePath().normalize();
        Path start = base.resolve(path).normalize();
        if (!start.startsWith(base)) {
            throw new IllegalArgumentException(path + " is not inside " + base);
        }
        Walk walk = new Walk(store, base, base.toRealPath());
        walk.visit(start);
        return walk.entries;
    }

    /** Writes each entry's blob to {@code targetDir}/{@code path}, replacing what is there. */
    public static void restore(BlobStore store, Collection<ManifestEntry> entries, Path targetDir) throws IOException {
        Path target = targetDir.toAbsolutePath().normalize();
        Files.createDirectories(target);
        Path targetReal = target.toRealPath();
        for (ManifestEntry e : entries) {
            Path file = target.resolve(e.path()).normalize();
            if (!file.startsWith(target) || file.equals(target)) {
                throw new IOException("refusing to restore '" + e.path() + "' outside " + target);
            }
            Path parent = file.getParent();
            Files.createDirectories(parent);
            // A symlinked folder already in the target could otherwise carry the write elsewhere.
            if (!parent.toRealPath().startsWith(targetReal)) {
                throw new IOException("refusing to restore '" + e.path() + "': " + parent + " leads outside " + target);
            }
            store.get(e.hash(), file);
        }
    }

    /** Rejects paths that are empty, absolute, or step out with "..": what a manifest from elsewhere might hold. */
    static void requireSafeRelativePath(String path) {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("empty path in manifest");
        }
        if (path.startsWith("/") || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0 || path.matches("^[A-Za-z]:.*")) {
            throw new IllegalArgumentException("not a relative '/'-separated path: '" + path + "'");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("path '" + path + "' has an empty, '.' or '..' segment");
            }
        }
    }

    /** One walk's state: where it may go, what it has seen, what it stored. */
    private static final class Walk {
        private final BlobStore store;
        private final Path base;
        private final Path baseReal;
        private final Set<Path> seenDirs = new HashSet<>();
        private final List<ManifestEntry> entries = new ArrayList<>();

        Walk(BlobStore store, Path base, Path baseReal) {
            this.store = store;
            this.base = base;
            this.baseReal = baseReal;
        }

        void visit(Path p) throws IOException {
            BasicFileAttributes a = attributes(p, LinkOption.NOFOLLOW_LINKS);
            if (a == null) {
                return;
            }
            Path content = p;
            if (a.isSymbolicLink()) {
                Path real;
                try {
                    real = p.toRealPath();
                } catch (IOException dangling) {
                    return;
                }
                if (!real.startsWith(baseReal)) {
                    return;
                }
                content = real;
                a = attributes(real, LinkOption.NOFOLLOW_LINKS);
                if (a == null) {
                    return;
                }
            }
            if (a.isRegularFile()) {
                storeFile(p, content, a.size());
            } else if (a.isDirectory()) {
                walkDirectory(p, content);
            }
        }

        private void storeFile(Path logical, Path content, long size) throws IOException {
            String hash;
            try {
                hash = store.put(content);
            } catch (NoSuchFileException vanished) {
                return;
            }
            String rel = base.relativize(logical).toString().replace('\\', '/');
            if (rel.isEmpty()) {
                // baseDir itself is a file: name it by its file name.
                rel = logical.getFileName().toString();
            }
            entries.add(new ManifestEntry(rel, hash, size));
        }

        private void walkDirectory(Path logical, Path content) throws IOException {
            Path key;
            try {
                key = content.toRealPath();
            } catch (NoSuchFileException vanished) {
                return;
            }
            if (!seenDirs.add(key)) {
                return;
            }
            List<Path> children = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(content)) {
                for (Path child : ds) {
                    children.add(logical.resolve(child.getFileName().toString()));
                }
            } catch (NoSuchFileException | NotDirectoryException vanished) {
                return;
            }
            children.sort(null);
            for (Path child : children) {
                visit(child);
            }
        }

        private static BasicFileAttributes attributes(Path p, LinkOption... options) throws IOException {
            try {
                return Files.readAttributes(p, BasicFileAttributes.class, options);
            } catch (NoSuchFileException vanished) {
                return null;
            }
        }
    }
}
