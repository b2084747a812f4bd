package dev.sortie.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

/**
 * Makes a work copy, already written from a snapshot commit, a git checkout of that commit: a repository of its own
 * in {@code <work>/.git} whose objects are the project's (an alternates file, nothing copied), {@code HEAD} detached
 * at the commit and an index that matches the files as written (with their stat data, so {@code git status} need
 * not re-read them). Tools that ask git ({@code git rev-parse}, DVC, dvclive) then find this clean repository at
 * the experiment's commit instead of walking up into the user's, where the work copy is an ignored path. Nothing in
 * the user's repository is written: removing the work folder removes all of it.
 */
final class WorkCopyRepository {
    private WorkCopyRepository() {
    }

    static void create(Repository source, RevCommit commit, List<SnapshotFiles.Item> items, Path root) throws IOException {
        Path gitDir = root.resolve(Constants.DOT_GIT);
        if (Files.exists(gitDir, LinkOption.NOFOLLOW_LINKS)) {
            // a snapshot never holds .git (git refuses the name), so this is a leftover of an earlier attempt
            dev.sortie.core.util.FileTrees.delete(gitDir);
        }
        try (Repository work = new FileRepositoryBuilder().setGitDir(gitDir.toFile()).setWorkTree(root.toFile()).build()) {
            work.create(false);
            StoredConfig config = work.getConfig();
            config.setInt("gc", null, "auto", 0); // the objects are borrowed: never repack or prune them here
            config.save();
            Path objects = source.getObjectDatabase() instanceof org.eclipse.jgit.internal.storage.file.ObjectDirectory od
                    ? od.getDirectory().toPath().toAbsolutePath()
                    : source.getDirectory().toPath().resolve("objects").toAbsolutePath();
            Path info = gitDir.resolve("objects").resolve("info");
            Files.createDirectories(info);
            Files.writeString(info.resolve("alternates"), objects + "\n", StandardCharsets.UTF_8);
            RefUpdate head = work.updateRef(Constants.HEAD, true);
            head.setNewObjectId(commit);
            head.setForceUpdate(true);
            RefUpdate.Result r = head.update();
            if (r != RefUpdate.Result.NEW && r != RefUpdate.Result.FORCED && r != RefUpdate.Result.NO_CHANGE) {
                throw new IOException("could not set HEAD of the work copy's repository " + gitDir + " to " + commit.name() + ": " + r);
            }
            writeIndex(work, items, root);
        }
    }

    private static void writeIndex(Repository work, List<SnapshotFiles.Item> items, Path root) throws IOException {
        DirCache index = work.lockDirCache();
        try {
            DirCacheBuilder builder = index.builder();
            for (SnapshotFiles.Item item : items) {
                DirCacheEntry e = new DirCacheEntry(item.path());
                e.setFileMode(item.mode());
                e.setObjectId(item.id());
                if (!FileMode.GITLINK.equals(item.mode())) {
                    BasicFileAttributes a = Files.readAttributes(root.resolve(item.path()), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    e.setLength(a.size());
                    e.setLastModified(a.lastModifiedTime().toInstant());
                }
                builder.add(e);
            }
            builder.finish();
            index.write();
            index.commit();
        } finally {
            index.unlock();
        }
    }
}
