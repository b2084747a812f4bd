package dev.sortie.store;

import dev.sortie.core.executor.CodeFile;
import java.io.InputStream;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;

import dev.sortie.core.model.CodeRef;
import dev.sortie.core.store.CodeSnapshot;
import dev.sortie.core.store.CodeSnapshots;
import dev.sortie.core.util.FileTrees;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEditor;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.UserConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * {@link CodeSnapshots} kept as git commits. In a git work tree the snapshots live in that repository (parent: HEAD,
 * kept alive by {@code refs/sortie/experiments/<id>}), so {@code git log}, {@code git diff} and {@code git checkout}
 * work on them and unchanged files cost nothing. Outside git they live in a private bare repository at
 * {@code <state>/code.git}, as parentless commits of the project folder.
 * <p>
 * Nothing here writes the user's index, HEAD, branches or work tree, except {@link #apply} (work tree files, by
 * request) and {@link #branch} (a new branch, by request).
 */
public final class GitCodeSnapshots implements CodeSnapshots, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GitCodeSnapshots.class.getName());
    /** Sortie's state folder name: never part of a snapshot, at any level. */
    public static final String STATE_DIR_NAME = ".sortie";
    public static final String PRIVATE_REPO_NAME = "code.git";

    private static final String FALLBACK_NAME = "Sortie";
    private static final String FALLBACK_EMAIL = "sortie@localhost";
    private static final int REF_RETRIES = 50;
    private static final int MAX_LISTED_SKIPPED = 10;
    private static final Pattern HEX_ID = Pattern.compile("[0-9a-fA-F]{4,40}");

    private final Repository repo;
    private final Path workTree;
    private final String projectPrefix;
    private final boolean privateRepo;
    private final Set<String> excludedPaths;
    private final Consumer<String> notes;

    private GitCodeSnapshots(Repository repo, Path workTree, String projectPrefix, boolean privateRepo, Set<String> excludedPaths,
            Consumer<String> notes) {
        this.notes = notes;
        this.repo = repo;
        this.workTree = workTree;
        this.projectPrefix = projectPrefix;
        this.privateRepo = privateRepo;
        this.excludedPaths = excludedPaths;
    }

    /**
     * Snapshots for the project in {@code projectDir}: kept in the git repository whose work tree holds it, or, when
     * there is none, in a private repository under {@code sortieStateDir} (created on first use).
     */
    public static GitCodeSnapshots open(Path projectDir, Path sortieStateDir) throws IOException {
        return open(projectDir, sortieStateDir, note -> LOG.log(System.Logger.Level.WARNING, note));
    }

    /**
     * Like {@link #open(Path, Path)}, telling {@code notes} what the user should know about a snapshot (one line
     * each, e.g. the special files it left out).
     */
    public static GitCodeSnapshots open(Path projectDir, Path sortieStateDir, Consumer<String> notes) throws IOException {
        Path project = projectDir.toAbsolutePath().normalize().toRealPath();
        Path state = sortieStateDir.toAbsolutePath().normalize();
        FileRepositoryBuilder finder = new FileRepositoryBuilder().findGitDir(project.toFile());
        if (finder.getGitDir() != null) {
            Repository repo = finder.setMustExist(true).build();
            if (!repo.isBare()) {
                Path wt = repo.getWorkTree().toPath().toAbsolutePath().normalize().toRealPath();
                if (project.startsWith(wt)) {
                    return new GitCodeSnapshots(repo, wt, relative(wt, project), false, excluded(wt, state), notes);
                }
            }
            repo.close();
        }
        Path gitDir = state.resolve(PRIVATE_REPO_NAME);
        createPrivateRepo(gitDir);
        // The bare repository is only the object store; the project folder is the tree we snapshot. Its index file
        // (code.git/index) is ours alone and serves as a stat cache, so unchanged files are not re-read next time.
        Repository repo = new FileRepositoryBuilder()
                .setGitDir(gitDir.toFile())
                .setWorkTree(project.toFile())
                .setMustExist(true)
                .build();
        return new GitCodeSnapshots(repo, project, "", true, excluded(project, state), notes);
    }

    /** The folder whose files a snapshot holds: the git work tree, or the project folder outside git. */
    public Path workTree() {
        return workTree;
    }

    /** The git directory snapshots are stored in. */
    public Path repositoryDir() {
        return repo.getDirectory().toPath();
    }

    /** True when the project is not in a git work tree and snapshots go to the private repository. */
    public boolean isPrivateRepository() {
        return privateRepo;
    }

    /** The project's folder inside the work tree, '/'-separated; "" when it is the work tree's root. */
    public String projectPrefix() {
        return projectPrefix;
    }

    @Override
    public CodeSnapshot snapshot(String experimentId, Map<String, byte[]> overrides, String message) throws IOException {
        return snapshotAll(List.of(new Request(experimentId, overrides, message))).get(0);
    }

    @Override
    public List<CodeSnapshot> snapshotAll(List<Request> requests) throws IOException {
        try {
            return snapshotAllUnnamed(requests);
        } catch (IOException e) {
            // JGit's errors on writing objects ("Read-only file system", "No space left on device") do not say where
            String where = repo.getDirectory().getPath();
            if (e.getMessage() != null && e.getMessage().contains(where)) {
                throw e;
            }
            throw new IOException("cannot record the code snapshot in " + where + ": " + e.getMessage(), e);
        }
    }

    private List<CodeSnapshot> snapshotAllUnnamed(List<Request> requests) throws IOException {
        List<Map<String, byte[]>> allEdits = new ArrayList<>(requests.size());
        for (Request r : requests) {
            GitNames.experimentRef(r.experimentId());
            allEdits.add(edits(r.overrides()));
        }
        try (ObjectInserter inserter = repo.newObjectInserter(); ObjectReader reader = inserter.newReader()) {
            ObjectId head = privateRepo ? null : repo.resolve(Constants.HEAD + "^{commit}");
            WorkTreeScanner scanner = new WorkTreeScanner(repo, workTree, projectPrefix, excludedPaths);
            DirCache files = scanner.scan(readIndex(reader, head), inserter, reader);
            noteSkipped(scanner.skippedSpecialFiles());
            ObjectId workspaceTree = files.writeTree(inserter);
            if (privateRepo) {
                saveStatCache(files);
            }
            // Dirty means the workspace differs from its commit where the run can see it (the project folder);
            // the overrides Sortie adds itself (the run's params) do not make a clean checkout dirty.
            boolean dirty = head == null
                    ? projectTree(reader, workspaceTree) != null
                    : !sameId(projectTree(reader, workspaceTree), projectTree(reader, commitTree(reader, head)));
            int scannedFiles = countProjectFiles(files);
            long scannedBytes = countProjectBytes(files);
            List<ObjectId> commits = new ArrayList<>(requests.size());
            int[] fileCount = new int[requests.size()];
            long[] byteCount = new long[requests.size()];
            for (int i = 0; i < requests.size(); i++) {
                ObjectId tree = workspaceTree;
                fileCount[i] = scannedFiles;
                byteCount[i] = scannedBytes;
                if (!allEdits.get(i).isEmpty()) {
                    // Each request edits a fresh copy of the scanned tree, so one's overrides never leak into the next.
                    DirCache copy = DirCache.newInCore();
                    DirCacheBuilder builder = copy.builder();
                    builder.addTree(new byte[0], DirCacheEntry.STAGE_0, reader, workspaceTree);
                    builder.finish();
                    applyOverrides(copy, allEdits.get(i), inserter);
                    tree = copy.writeTree(inserter);
                    fileCount[i] = countProjectFiles(copy);
                    byteCount[i] = countProjectBytes(copy);
                }
                commits.add(insertCommit(inserter, tree, head, commitMessage(requests.get(i).message(), requests.get(i).experimentId())));
            }
            inserter.flush();
            List<CodeSnapshot> out = new ArrayList<>(requests.size());
            for (int i = 0; i < requests.size(); i++) {
                String ref = GitNames.experimentRef(requests.get(i).experimentId());
                pointRef(ref, commits.get(i));
                out.add(new CodeSnapshot(new CodeRef(head == null ? null : head.name(), commits.get(i).name(), ref, dirty), fileCount[i], byteCount[i]));
            }
            return out;
        }
    }

    /** "skipped 1 special file (not a regular file, symlink or folder): data/pipe", the paths as git names them. */
    private void noteSkipped(List<String> skipped) {
        if (skipped.isEmpty()) {
            return;
        }
        List<String> shown = skipped.subList(0, Math.min(skipped.size(), MAX_LISTED_SKIPPED));
        notes.accept("skipped " + skipped.size() + " special file" + (skipped.size() == 1 ? "" : "s")
                + " (not a regular file, symlink or folder): " + String.join(", ", shown)
                + (skipped.size() > shown.size() ? " and " + (skipped.size() - shown.size()) + " more" : ""));
    }

    private Map<String, byte[]> edits(Map<String, byte[]> overrides) {
        Map<String, byte[]> edits = new LinkedHashMap<>();
        if (overrides != null) {
            for (Map.Entry<String, byte[]> e : overrides.entrySet()) {
                String path = GitNames.requireOverridePath(e.getKey());
                if (e.getValue() == null) {
                    throw new IllegalArgumentException("override for '" + path + "' has no content");
                }
                edits.put(projectPrefix.isEmpty() ? path : projectPrefix + "/" + path, e.getValue().clone());
            }
        }
        return edits;
    }

    @Override
    public void materialize(String snapshotCommit, Path target) throws IOException {
        try (ObjectReader reader = repo.newObjectReader()) {
            RevCommit commit = parseCommit(reader, snapshotCommit);
            Path root = target.toAbsolutePath().normalize();
            List<SnapshotFiles.Item> items = new SnapshotFiles(reader).materialize(projectTree(reader, commit.getTree()), root,
                    "snapshot " + commit.name());
            if (projectPrefix.isEmpty()) {
                // The snapshot's tree is the work copy's: make it a git checkout of that commit, so git, DVC and
                // dvclive see a clean repository there instead of the user's (where the copy is an ignored path).
                WorkCopyRepository.create(repo, commit, items, root);
            }
        }
    }

    @Override
    public List<CodeFile> files(String snapshotCommit) throws IOException {
        try (ObjectReader reader = repo.newObjectReader()) {
            RevCommit commit = parseCommit(reader, snapshotCommit);
            List<CodeFile> files = new ArrayList<>();
            for (SnapshotFiles.Item item : new SnapshotFiles(reader).list(projectTree(reader, commit.getTree()), "snapshot " + commit.name())) {
                CodeFile.Kind kind;
                if (FileMode.GITLINK.equals(item.mode())) {
                    continue;
                } else if (FileMode.SYMLINK.equals(item.mode())) {
                    kind = CodeFile.Kind.SYMLINK;
                } else if (FileMode.EXECUTABLE_FILE.equals(item.mode())) {
                    kind = CodeFile.Kind.EXECUTABLE;
                } else {
                    kind = CodeFile.Kind.FILE;
                }
                files.add(new CodeFile(item.path(), kind, item.id().name(), reader.getObjectSize(item.id(), Constants.OBJ_BLOB)));
            }
            return files;
        }
    }

    @Override
    public InputStream openBlob(String blobId) throws IOException {
        if (!ObjectId.isId(blobId)) {
            throw new IOException("not a blob id: '" + blobId + "'");
        }
        // any type: the commit and trees of gitCommit travel by id like the blobs (raw, without git's header)
        return repo.open(ObjectId.fromString(blobId)).openStream();
    }

    @Override
    public dev.sortie.core.executor.GitCommitObjects gitCommit(String snapshotCommit) throws IOException {
        if (!projectPrefix.isEmpty()) {
            return null; // the work copy is a subfolder of the snapshot's tree: no checkout of it (as locally)
        }
        try (ObjectReader reader = repo.newObjectReader()) {
            RevCommit commit = parseCommit(reader, snapshotCommit);
            Map<String, Long> objects = new LinkedHashMap<>();
            objects.put(commit.name(), reader.getObjectSize(commit, Constants.OBJ_COMMIT));
            objects.put(commit.getTree().name(), reader.getObjectSize(commit.getTree(), Constants.OBJ_TREE));
            try (TreeWalk tw = new TreeWalk(reader)) {
                tw.addTree(commit.getTree());
                tw.setRecursive(false);
                while (tw.next()) {
                    if (FileMode.TREE.equals(tw.getFileMode(0))) {
                        ObjectId tree = tw.getObjectId(0);
                        objects.putIfAbsent(tree.name(), reader.getObjectSize(tree, Constants.OBJ_TREE));
                        tw.enterSubtree();
                    }
                }
            }
            return new dev.sortie.core.executor.GitCommitObjects(commit.name(), objects);
        }
    }

    @Override
    public void apply(String snapshotCommit) throws IOException {
        Path projectDir = projectPrefix.isEmpty() ? workTree : workTree.resolve(projectPrefix);
        try (ObjectReader reader = repo.newObjectReader()) {
            RevCommit commit = parseCommit(reader, snapshotCommit);
            // Sortie's own state folder is never overwritten, even if an override put a file there.
            new SnapshotFiles(reader).apply(projectTree(reader, commit.getTree()), projectDir,
                    path -> path.equals(STATE_DIR_NAME) || path.startsWith(STATE_DIR_NAME + "/"),
                    "snapshot " + commit.name());
        }
    }

    @Override
    public void diff(String fromCommit, String toCommit, java.io.OutputStream out) throws IOException {
        try (ObjectReader reader = repo.newObjectReader();
                org.eclipse.jgit.diff.DiffFormatter f = new org.eclipse.jgit.diff.DiffFormatter(out)) {
            f.setRepository(repo);
            f.setDetectRenames(true);
            ObjectId a = projectTree(reader, parseCommit(reader, fromCommit).getTree());
            ObjectId b = projectTree(reader, parseCommit(reader, toCommit).getTree());
            f.format(a, b);
            f.flush();
        }
    }

    @Override
    public void branch(String snapshotCommit, String name) throws IOException {
        String ref = GitNames.branchRef(name);
        if (privateRepo) {
            throw new IllegalStateException("the project at " + workTree + " is not in a git repository, so there is no"
                    + " branch to create; write the snapshot's files out instead (apply or materialize)");
        }
        ObjectId commit;
        try (ObjectInserter inserter = repo.newObjectInserter(); ObjectReader reader = inserter.newReader()) {
            commit = withCommittedStateFiles(reader, inserter, parseCommit(reader, snapshotCommit));
            inserter.flush();
        }
        Ref existing = repo.exactRef(ref);
        if (existing != null) {
            throw new IllegalArgumentException("branch '" + name + "' already exists"
                    + (existing.getObjectId() == null ? "" : " (at " + existing.getObjectId().abbreviate(10).name() + ")")
                    + "; pick another name");
        }
        if (repo.getRefDatabase().isNameConflicting(ref)) {
            throw new IllegalArgumentException("branch '" + name + "' cannot be created: it clashes with an existing branch"
                    + " ('a' and 'a/b' cannot both exist); pick another name");
        }
        RefUpdate update = repo.updateRef(ref);
        update.setExpectedOldObjectId(ObjectId.zeroId());
        update.setNewObjectId(commit);
        update.setRefLogMessage("branch: Created from sortie snapshot " + commit.name(), false);
        RefUpdate.Result result = update.update();
        if (result != RefUpdate.Result.NEW) {
            if (repo.exactRef(ref) != null) {
                throw new IllegalArgumentException("branch '" + name + "' already exists; pick another name");
            }
            throw new IOException("could not create branch '" + name + "' in " + repo.getDirectory() + ": " + result);
        }
    }

    /**
     * The commit a branch of {@code snapshot} points at. A snapshot never holds Sortie's state folder, but the user may
     * have committed files there ({@code .sortie/config.yaml}, {@code .sortie/.gitignore}); a branch with the
     * snapshot's tree would delete them. So their committed entries (from the snapshot's parent) are put back, in a
     * commit with the snapshot's parent, author and message; without any, the snapshot commit itself.
     */
    private ObjectId withCommittedStateFiles(ObjectReader reader, ObjectInserter inserter, RevCommit snapshot) throws IOException {
        if (snapshot.getParentCount() == 0) {
            return snapshot;
        }
        RevCommit parent;
        try (RevWalk walk = new RevWalk(reader)) {
            parent = walk.parseCommit(snapshot.getParent(0));
        }
        DirCache tree = DirCache.newInCore();
        DirCacheBuilder builder = tree.builder();
        builder.addTree(new byte[0], DirCacheEntry.STAGE_0, reader, snapshot.getTree());
        builder.finish();
        DirCacheEditor editor = tree.editor();
        int kept = 0;
        try (TreeWalk tw = new TreeWalk(reader)) {
            tw.addTree(parent.getTree());
            tw.setRecursive(true);
            while (tw.next()) {
                String path = tw.getPathString();
                if (!isStatePath(path) || tree.findEntry(path) >= 0) {
                    continue;
                }
                FileMode mode = tw.getFileMode(0);
                ObjectId id = tw.getObjectId(0);
                editor.add(new DirCacheEditor.PathEdit(path) {
                    @Override
                    public void apply(DirCacheEntry ent) {
                        ent.setFileMode(mode);
                        ent.setObjectId(id);
                    }
                });
                kept++;
            }
        }
        if (kept == 0) {
            return snapshot;
        }
        editor.finish();
        CommitBuilder c = new CommitBuilder();
        c.setTreeId(tree.writeTree(inserter));
        c.setParentIds(snapshot.getParents());
        c.setAuthor(snapshot.getAuthorIdent());
        c.setCommitter(snapshot.getCommitterIdent());
        c.setMessage(snapshot.getFullMessage());
        return inserter.insert(c);
    }

    /** Whether a repository path is in a folder a snapshot leaves out: a {@code .sortie} at any level, or the state folder. */
    private boolean isStatePath(String path) {
        for (String ex : excludedPaths) {
            if (path.equals(ex) || path.startsWith(ex + "/")) {
                return true;
            }
        }
        return path.startsWith(STATE_DIR_NAME + "/") || path.contains("/" + STATE_DIR_NAME + "/");
    }

    @Override
    public void release(String experimentId) throws IOException {
        String ref = GitNames.experimentRef(experimentId);
        for (int attempt = 0; ; attempt++) {
            if (repo.exactRef(ref) == null) {
                return;
            }
            RefUpdate update = repo.updateRef(ref);
            update.setForceUpdate(true);
            RefUpdate.Result result = update.delete();
            switch (result) {
                case FORCED, NO_CHANGE, FAST_FORWARD, NEW -> {
                    return;
                }
                case LOCK_FAILURE -> backOff(attempt, ref, result);
                default -> throw new IOException("could not delete " + ref + " in " + repo.getDirectory() + ": " + result);
            }
        }
    }

    @Override
    public void close() {
        repo.close();
    }

    // ------------------------------------------------------------------ helpers

    private ObjectId insertCommit(ObjectInserter inserter, ObjectId tree, ObjectId parent, String message) throws IOException {
        CommitBuilder commit = new CommitBuilder();
        commit.setTreeId(tree);
        if (parent != null) {
            commit.setParentId(parent);
        }
        PersonIdent who = identity();
        commit.setAuthor(who);
        commit.setCommitter(who);
        commit.setMessage(message);
        return inserter.insert(commit);
    }

    /** Files the run gets: those in the project folder, submodule pointers aside. */
    private int countProjectFiles(DirCache files) {
        int count = 0;
        for (int i = 0; i < files.getEntryCount(); i++) {
            if (inProject(files.getEntry(i))) {
                count++;
            }
        }
        return count;
    }

    private long countProjectBytes(DirCache files) {
        long bytes = 0;
        for (int i = 0; i < files.getEntryCount(); i++) {
            DirCacheEntry e = files.getEntry(i);
            if (inProject(e)) {
                // The index keeps sizes in 32 bits, unsigned.
                bytes += Integer.toUnsignedLong(e.getLength());
            }
        }
        return bytes;
    }

    private boolean inProject(DirCacheEntry e) {
        return (projectPrefix.isEmpty() || e.getPathString().startsWith(projectPrefix + "/"))
                && !FileMode.GITLINK.equals(e.getFileMode());
    }

    /**
     * The index to compare the work tree with. The private repository's is only a stat cache, so an unreadable one
     * just starts over. The user's may use a format JGit cannot read (split or sparse index): then HEAD's tree stands
     * in for it, which keeps "tracked" meaning what it should and only costs reading every file.
     */
    private DirCache readIndex(ObjectReader reader, ObjectId head) throws IOException {
        try {
            return repo.readDirCache();
        } catch (IOException unreadable) {
            LOG.log(System.Logger.Level.DEBUG, "the git index is unreadable ({0}); {1}", unreadable, privateRepo ? "the stat cache starts over" : "HEAD stands in for it");
            DirCache stand = DirCache.newInCore();
            DirCacheBuilder builder = stand.builder();
            if (!privateRepo && head != null) {
                builder.addTree(new byte[0], DirCacheEntry.STAGE_0, reader, commitTree(reader, head));
            }
            builder.finish();
            return stand;
        }
    }

    /** Keeps the stat data of the private repository's last scan; another process holding the lock just wins. */
    private void saveStatCache(DirCache files) {
        DirCache cache;
        try {
            cache = repo.lockDirCache();
        } catch (IOException busyOrCorrupt) {
            LOG.log(System.Logger.Level.DEBUG, "the stat cache was not saved, its lock is busy or it is corrupt: {0}", busyOrCorrupt);
            return;
        }
        try {
            DirCacheBuilder builder = cache.builder();
            for (int i = 0; i < files.getEntryCount(); i++) {
                // Copies: writing smudges racily clean entries, which must not touch the snapshot's own entries.
                builder.add(new DirCacheEntry(files.getEntry(i)));
            }
            builder.commit();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the stat cache was not saved: {0}", e);
            // best effort: the next snapshot reads every file again
        } finally {
            cache.unlock();
        }
    }

    private static void applyOverrides(DirCache files, Map<String, byte[]> edits, ObjectInserter inserter) throws IOException {
        DirCacheEditor editor = files.editor();
        for (Map.Entry<String, byte[]> e : edits.entrySet()) {
            byte[] content = e.getValue();
            ObjectId id = inserter.insert(Constants.OBJ_BLOB, content);
            editor.add(new DirCacheEditor.PathEdit(e.getKey()) {
                @Override
                public void apply(DirCacheEntry ent) {
                    // An executable file stays executable; anything else (new file, link, submodule) becomes a file.
                    if (!FileMode.EXECUTABLE_FILE.equals(ent.getFileMode())) {
                        ent.setFileMode(FileMode.REGULAR_FILE);
                    }
                    ent.setObjectId(id);
                    ent.setLength(content.length);
                }
            });
        }
        editor.finish();
    }

    /** The tree of the project's folder inside {@code rootTree}; null when the project has no files there. */
    private ObjectId projectTree(ObjectReader reader, ObjectId rootTree) throws IOException {
        if (rootTree == null) {
            return null;
        }
        if (projectPrefix.isEmpty()) {
            return rootTree;
        }
        try (TreeWalk tw = TreeWalk.forPath(reader, projectPrefix, rootTree)) {
            if (tw == null || !FileMode.TREE.equals(tw.getFileMode(0))) {
                return null;
            }
            return tw.getObjectId(0);
        }
    }

    private static ObjectId commitTree(ObjectReader reader, ObjectId commit) throws IOException {
        try (RevWalk rw = new RevWalk(reader)) {
            return rw.parseCommit(commit).getTree();
        }
    }

    private static boolean sameId(ObjectId a, ObjectId b) {
        return a == null ? b == null : a.equals(b);
    }

    private RevCommit parseCommit(ObjectReader reader, String snapshotCommit) throws IOException {
        if (snapshotCommit == null || !HEX_ID.matcher(snapshotCommit).matches()) {
            throw new IllegalArgumentException("'" + snapshotCommit + "' is not a commit id (hex digits expected)");
        }
        ObjectId id = ObjectId.isId(snapshotCommit) ? ObjectId.fromString(snapshotCommit) : repo.resolve(snapshotCommit);
        if (id == null) {
            throw missingCommit(snapshotCommit);
        }
        try (RevWalk rw = new RevWalk(reader)) {
            return rw.parseCommit(id);
        } catch (MissingObjectException e) {
            throw missingCommit(snapshotCommit);
        } catch (IncorrectObjectTypeException e) {
            throw new IllegalArgumentException(snapshotCommit + " is not a commit in " + repo.getDirectory());
        }
    }

    private IOException missingCommit(String id) {
        return new IOException("snapshot commit " + id + " is not in the repository at " + repo.getDirectory()
                + (privateRepo ? "" : " (was it created in another clone, or garbage-collected after its experiment was removed?)"));
    }

    /** The user's git identity where they set one, else Sortie's: never a guess from the OS user and host name. */
    private PersonIdent identity() {
        UserConfig user = repo.getConfig().get(UserConfig.KEY);
        String name = user.isCommitterNameImplicit() ? FALLBACK_NAME : user.getCommitterName();
        String email = user.isCommitterEmailImplicit() ? FALLBACK_EMAIL : user.getCommitterEmail();
        return new PersonIdent(name, email);
    }

    private static String commitMessage(String message, String experimentId) {
        String m = message == null || message.isBlank() ? "sortie: snapshot for experiment " + experimentId : message;
        return m.endsWith("\n") ? m : m + "\n";
    }

    private void pointRef(String ref, ObjectId commit) throws IOException {
        for (int attempt = 0; ; attempt++) {
            RefUpdate update = repo.updateRef(ref);
            update.setNewObjectId(commit);
            update.setForceUpdate(true);
            update.disableRefLog();
            RefUpdate.Result result = update.update();
            switch (result) {
                case NEW, FORCED, NO_CHANGE, FAST_FORWARD -> {
                    return;
                }
                // Another process holds a lock we need (packed-refs, a reftable stack): wait and retry.
                case LOCK_FAILURE -> backOff(attempt, ref, result);
                default -> throw new IOException("could not point " + ref + " at " + commit.name() + " in "
                        + repo.getDirectory() + ": " + result);
            }
        }
    }

    private void backOff(int attempt, String ref, RefUpdate.Result result) throws IOException {
        if (attempt >= REF_RETRIES) {
            throw new IOException("could not update " + ref + " in " + repo.getDirectory() + " after " + attempt
                    + " tries: " + result);
        }
        try {
            Thread.sleep(10 + ThreadLocalRandom.current().nextInt(10 + attempt * 10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while updating " + ref, e);
        }
    }

    private static String relative(Path root, Path inside) {
        return root.relativize(inside).toString().replace('\\', '/');
    }

    /** The state folder's path in the work tree, when it is there under a name other than .sortie. */
    private static Set<String> excluded(Path workTree, Path stateDir) {
        Set<String> out = new HashSet<>();
        Path state = stateDir;
        try {
            state = stateDir.toRealPath();
        } catch (IOException notYet) {
            // not created yet: compare as given
        }
        if (state.startsWith(workTree) && !state.equals(workTree)) {
            out.add(relative(workTree, state));
        }
        return Set.copyOf(out);
    }

    /** Creates the private bare repository whole or not at all: built under a temp name, then renamed into place. */
    private static void createPrivateRepo(Path gitDir) throws IOException {
        if (Files.isRegularFile(gitDir.resolve("config")) && Files.isDirectory(gitDir.resolve("objects"))) {
            return;
        }
        Files.createDirectories(gitDir.getParent());
        Path tmp = gitDir.resolveSibling(gitDir.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try (Repository r = new FileRepositoryBuilder().setGitDir(tmp.toFile()).setBare().build()) {
            r.create(true);
        }
        try {
            Files.move(tmp, gitDir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Another process created it first (rename onto a non-empty folder fails): use theirs.
            deleteTree(tmp);
            if (!Files.isRegularFile(gitDir.resolve("config"))) {
                throw new IOException("cannot create the private code repository at " + gitDir + ": " + e.getMessage(), e);
            }
        }
    }

    private static void deleteTree(Path root) {
        try {
            FileTrees.delete(root);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the temporary folder {0} was left behind: {1}", root, e);
            // best effort: a stray temp folder beside code.git is harmless
        }
    }
}
