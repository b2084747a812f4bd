package dev.sortie.agent.remote;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.core.util.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Finished runs' work folders on a host, kept (up to {@link #MAX_SPARES}) in {@code remote_dir/spare/} so the next
 * run on that host starts from one instead of laying out every file again: on a hot host the same tree, or a
 * tree that differs in a few files, costs a stat per file rather than a copy of the whole workspace. A folder is
 * claimed by renaming it (atomic: two agents never get the same one); {@link CodeCache#materialize} then brings it
 * to exactly the new file list, trusting a file only if it is as it was written ({@link #LAYOUT}).
 */
public final class WorkFolderReuse {
    private static final System.Logger LOG = System.getLogger(WorkFolderReuse.class.getName());
    /** The record of what was written into a work folder: path, blob, kind, size, mtime (µs), one per line. */
    public static final String LAYOUT = ".sortie/layout.tsv";
    static final int MAX_SPARES = 4;
    /** Below this much free space (or a tenth of the disk) finished work folders are deleted, not kept. */
    static final long MIN_FREE_BYTES = 1L << 30;
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Path spares;

    public WorkFolderReuse(Path spares) {
        this.spares = spares;
    }

    /** A file as written: what it must still be to be kept. */
    record Entry(String path, String blobId, CodeFile.Kind kind, long size, long mtimeMicros) {
    }

    /** Moves a spare folder into {@code root} (an empty folder) if there is one; false if none could be claimed. */
    public boolean claim(Path root) throws IOException {
        if (!Files.isDirectory(spares)) {
            return false;
        }
        List<Path> candidates;
        try (Stream<Path> s = Files.list(spares)) {
            candidates = s.filter(p -> p.getFileName().toString().startsWith("w-")).toList();
        }
        for (Path spare : candidates) {
            try {
                Files.move(spare, root, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return true;
            } catch (NoSuchFileException | DirectoryNotEmptyException | FileAlreadyExistsException e) {
                LOG.log(System.Logger.Level.DEBUG, "spare work folder {0} was taken by another agent: {1}", spare, e);
                // another agent took it first
            }
        }
        return false;
    }

    /** Keeps a finished run's work folder for the next run, or deletes it when enough are kept already. */
    public void retire(Path root) throws IOException {
        if (!Files.exists(root.resolve(LAYOUT))) {
            FileTrees.delete(root);
            return;
        }
        Files.createDirectories(spares);
        long kept;
        try (Stream<Path> s = Files.list(spares)) {
            kept = s.count();
        }
        if (kept >= MAX_SPARES || !roomToKeep(spares)) {
            FileTrees.delete(root);
            return;
        }
        byte[] token = new byte[8];
        RANDOM.nextBytes(token);
        Files.move(root, spares.resolve("w-" + HexFormat.of().formatHex(token)), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Whether the disk has room for a spare folder: one holds a whole workspace and whatever the run wrote, so on a
     * disk with less than {@link #MIN_FREE_BYTES} or a tenth of it free, the speed it buys is not worth the space
     * the next sync or checkpoint may need.
     */
    static boolean roomToKeep(Path folder) throws IOException {
        java.nio.file.FileStore fs = Files.getFileStore(folder);
        long free = fs.getUsableSpace();
        return free >= MIN_FREE_BYTES && free >= fs.getTotalSpace() / 10;
    }

    static Map<String, Entry> readLayout(Path root) throws IOException {
        Path file = root.resolve(LAYOUT);
        Map<String, Entry> out = new HashMap<>();
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            if (f.length == 5) {
                try {
                    out.put(f[0], new Entry(f[0], f[1], CodeFile.Kind.valueOf(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])));
                } catch (IllegalArgumentException e) {
                    LOG.log(System.Logger.Level.DEBUG, "a mangled line of {0} was skipped: {1}", file, e);
                    // a line the run mangled: that file is simply written again
                }
            }
        }
        return out;
    }

    static void writeLayout(Path root, List<Entry> entries) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(e.path()).append('\t').append(e.blobId()).append('\t').append(e.kind()).append('\t')
                    .append(e.size()).append('\t').append(e.mtimeMicros()).append('\n');
        }
        Path file = root.resolve(LAYOUT);
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Files.writeString(file, sb, StandardCharsets.UTF_8);
    }

    static Entry entry(String rel, CodeFile f, Path target) throws IOException {
        BasicFileAttributes a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return new Entry(rel, f.blobId(), f.kind(), a.size(), a.lastModifiedTime().to(TimeUnit.MICROSECONDS));
    }

    /**
     * Deletes from a reused folder everything that is not a file of the new list exactly as it was written (without
     * following links: a link the run made is removed, never walked through), then the folders left empty. Returns
     * the paths kept.
     */
    static Set<String> prune(Path root, Map<String, Entry> before, Map<String, CodeFile> wanted) throws IOException {
        Set<String> kept = new HashSet<>();
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = new ArrayList<>(s.filter(p -> !p.equals(root)).toList());
        }
        all.sort(Comparator.comparingInt(Path::getNameCount).reversed()); // children before their folders
        for (Path p : all) {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            String rel = root.relativize(p).toString();
            if (a.isDirectory()) {
                try (Stream<Path> s = Files.list(p)) {
                    if (s.findAny().isEmpty()) {
                        Files.delete(p);
                    }
                }
                continue;
            }
            Entry was = before.get(rel);
            CodeFile now = wanted.get(rel);
            boolean same = was != null && now != null && was.blobId().equals(now.blobId()) && was.kind() == now.kind()
                    && was.size() == a.size() && was.mtimeMicros() == a.lastModifiedTime().to(TimeUnit.MICROSECONDS)
                    && (now.kind() == CodeFile.Kind.SYMLINK) == a.isSymbolicLink()
                    && (now.kind() != CodeFile.Kind.EXECUTABLE || Files.isExecutable(p));
            if (same) {
                kept.add(rel);
            } else {
                Files.delete(p);
            }
        }
        return kept;
    }
}
