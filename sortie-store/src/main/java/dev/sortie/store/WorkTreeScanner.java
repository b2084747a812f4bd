package dev.sortie.store;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.NameConflictTreeWalk;
import org.eclipse.jgit.treewalk.TreeWalk.OperationType;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads a work tree as it is on disk into an in-memory {@link DirCache}, the way {@code git add -A} would stage it,
 * without writing the repository's index. Files whose index entry still matches them (size, times, mode) keep the
 * index's blob id, so a clean checkout of any size costs one stat per file; only changed and untracked files are
 * read, hashed and stored as loose objects.
 */
final class WorkTreeScanner {
    /** Files up to this size are read whole, so a file growing while we read it cannot break the length we declared. */
    private static final long IN_MEMORY_LIMIT = 32L << 20;

    private final Repository repo;
    private final Path workTree;
    private final String projectPrefix;
    private final Set<String> excludedPaths;
    private final List<String> skippedSpecialFiles = new ArrayList<>();

    /**
     * @param projectPrefix  the project's folder inside the work tree ("" for the root); untracked files outside it
     *                       are left out, since nothing outside the project is ever materialized
     * @param excludedPaths  work-tree-relative paths never to include (Sortie's state folder wherever it lives)
     */
    WorkTreeScanner(Repository repo, Path workTree, String projectPrefix, Set<String> excludedPaths) {
        this.repo = repo;
        this.workTree = workTree;
        this.projectPrefix = projectPrefix;
        this.excludedPaths = excludedPaths;
    }

    DirCache scan(DirCache index, ObjectInserter inserter, ObjectReader reader) throws IOException {
        DirCache out = DirCache.newInCore();
        DirCacheBuilder builder = out.builder();
        // NameConflictTreeWalk pairs a file in the index with a folder of the same name on disk (and the reverse),
        // as AddCommand does.
        try (NameConflictTreeWalk tw = new NameConflictTreeWalk(repo, reader)) {
            tw.setOperationType(OperationType.CHECKIN_OP);
            int dcIdx = tw.addTree(new DirCacheIterator(index));
            FileTreeIterator files = new FileTreeIterator(repo);
            files.setDirCacheIterator(tw, dcIdx);
            int wtIdx = tw.addTree(files);
            tw.setRecursive(false);
            SortieIgnore sortieIgnore = new SortieIgnore(workTree);
            String lastAdded = null;

            while (tw.next()) {
                sortieIgnore.truncateTo(tw.getDepth());
                String path = tw.getPathString();
                String name = tw.getNameString();
                DirCacheIterator c = tw.getTree(dcIdx, DirCacheIterator.class);
                WorkingTreeIterator f = tw.getTree(wtIdx, WorkingTreeIterator.class);
                DirCacheEntry entry = c == null ? null : c.getDirCacheEntry();

                if (Constants.DOT_GIT.equals(name) || GitCodeSnapshots.STATE_DIR_NAME.equals(name) || excludedPaths.contains(path)) {
                    continue;
                }
                if (entry != null && entry.getStage() > 0 && path.equals(lastAdded)) {
                    continue; // further stages of a conflicted path: one entry per path
                }
                boolean folder = f != null ? FileMode.TREE.equals(f.getEntryRawMode()) : tw.isSubtree();
                if (sortieIgnore.isIgnored(path, folder)) {
                    continue;
                }
                if (c == null) {
                    if (!relevantUntracked(path) || (f != null && f.isEntryIgnored())) {
                        continue;
                    }
                }
                if (tw.isSubtree() && !tw.isDirectoryFileConflict()) {
                    enter(tw, sortieIgnore, path);
                    continue;
                }
                if (f == null) {
                    // Gone from disk: a deletion, except where git keeps the entry without a file
                    // (sparse checkout, an uninitialised submodule).
                    if (entry != null && (entry.isSkipWorkTree() || FileMode.GITLINK.equals(entry.getFileMode()))) {
                        builder.add(stageZeroCopy(entry));
                        lastAdded = path;
                    }
                    continue;
                }
                // Only a file entry of the index speaks for this path's mode; a folder entry (file/folder clash) does not.
                FileMode mode = f.getIndexFileMode(entry != null ? c : null);
                if ((f.getEntryRawMode() == FileMode.TYPE_TREE && mode != FileMode.GITLINK)
                        || (f.getEntryRawMode() == FileMode.TYPE_GITLINK && mode == FileMode.TREE)) {
                    // The index has a file here and the disk a folder: take the folder's files.
                    enter(tw, sortieIgnore, path);
                    continue;
                }
                DirCacheEntry added = toEntry(tw.getRawPath(), path, mode, entry, f, inserter, reader);
                if (added != null) {
                    builder.add(added);
                    lastAdded = path;
                }
            }
        }
        builder.finish();
        return out;
    }

    private static void enter(NameConflictTreeWalk tw, SortieIgnore sortieIgnore, String path) throws IOException {
        sortieIgnore.enter(path);
        tw.enterSubtree();
    }

    /** Untracked files count inside the project; outside it only folders on the way down to it are walked. */
    private boolean relevantUntracked(String path) {
        if (projectPrefix.isEmpty()) {
            return true;
        }
        return path.equals(projectPrefix) || path.startsWith(projectPrefix + "/") || projectPrefix.startsWith(path + "/");
    }

    private DirCacheEntry toEntry(byte[] rawPath, String path, FileMode mode, DirCacheEntry indexed,
                                  WorkingTreeIterator f, ObjectInserter inserter, ObjectReader reader) throws IOException {
        if (isSpecialFile(path, mode, f)) {
            skippedSpecialFiles.add(path);
            return null;
        }
        DirCacheEntry e = new DirCacheEntry(rawPath);
        e.setFileMode(mode);
        if (FileMode.GITLINK.equals(mode)) {
            // A submodule or nested repository: git records the commit its HEAD is on, not its files.
            ObjectId id = f.getEntryObjectId();
            if (ObjectId.zeroId().equals(id)) {
                return null; // a nested repository without commits has nothing to point at
            }
            e.setObjectId(id);
            return e;
        }
        boolean unchanged = indexed != null && indexed.getStage() == 0
                && (indexed.isAssumeValid() || !f.isModified(indexed, true, reader));
        if (unchanged) {
            e.setObjectId(indexed.getObjectId());
        } else {
            ObjectId id = insertContent(f, inserter);
            if (id == null) {
                return null; // vanished while we looked
            }
            e.setObjectId(id);
        }
        // Stat data lets a stat cache (the private repository's index) skip this file next time.
        e.setLength(f.getEntryLength());
        e.setLastModified(f.getEntryLastModifiedInstant());
        return e;
    }

    /** Work-tree paths of the FIFOs, sockets and devices the last {@link #scan} left out, in tree order. */
    List<String> skippedSpecialFiles() {
        return List.copyOf(skippedSpecialFiles);
    }

    /**
     * Whether the disk has a FIFO, a socket or a device here. JGit reports them as regular files, and opening a
     * FIFO blocks until something writes to it, so the snapshot would hang; git leaves them out, and so do we.
     * They all have size 0, so only empty entries cost the extra lstat.
     */
    private boolean isSpecialFile(String path, FileMode mode, WorkingTreeIterator f) throws IOException {
        if (f.getEntryLength() != 0 || !(FileMode.REGULAR_FILE.equals(mode) || FileMode.EXECUTABLE_FILE.equals(mode))) {
            return false;
        }
        try {
            return Files.readAttributes(workTree.resolve(path), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
        } catch (NoSuchFileException vanished) {
            return false; // insertContent finds it gone and leaves it out
        }
    }

    /** Stores the (clean-filtered) content as a blob; null if the file disappeared meanwhile. */
    private static ObjectId insertContent(WorkingTreeIterator f, ObjectInserter inserter) throws IOException {
        try {
            if (f.getEntryLength() <= IN_MEMORY_LIMIT) {
                byte[] content;
                try (InputStream in = f.openEntryStream()) {
                    content = in.readAllBytes();
                }
                return inserter.insert(Constants.OBJ_BLOB, content);
            }
            // Large: spool to a temp file first so the length handed to the inserter is the length it will read.
            Path spool = Files.createTempFile("sortie-blob-", ".tmp");
            try {
                try (InputStream in = f.openEntryStream(); OutputStream out = Files.newOutputStream(spool)) {
                    in.transferTo(out);
                }
                try (InputStream in = Files.newInputStream(spool)) {
                    return inserter.insert(Constants.OBJ_BLOB, Files.size(spool), in);
                }
            } finally {
                Files.deleteIfExists(spool);
            }
        } catch (FileNotFoundException | NoSuchFileException vanished) {
            return null;
        }
    }

    private static DirCacheEntry stageZeroCopy(DirCacheEntry entry) {
        DirCacheEntry copy = new DirCacheEntry(entry.getRawPath());
        copy.setFileMode(entry.getFileMode());
        copy.setObjectId(entry.getObjectId());
        copy.setLength(entry.getLength());
        copy.setLastModified(entry.getLastModifiedInstant());
        return copy;
    }
}
