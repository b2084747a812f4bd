package dev.sortie.store;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * The experiments DVC keeps in a project's git repository, read with JGit (no DVC process): each is a commit under
 * {@code refs/exps/<baseline[0:2]>/<baseline[2:]>/<name>} whose tree holds the experiment's params.yaml, dvc.lock and
 * the metrics files git tracks. DVC's other refs there (its queue's stash, running and failed tasks under
 * {@code refs/exps/celery/}, {@code refs/exps/exec/}, {@code refs/exps/temp/}) are not experiments and are skipped.
 */
public final class DvcExperimentRefs implements AutoCloseable {
    static final String EXPS = "refs/exps/";
    /** DVC's ExpRefInfo: refs/exps/ + two hex digits + the other 38 of the baseline's sha + the experiment's name. */
    private static final Pattern EXP_REF = Pattern.compile("refs/exps/([0-9a-f]{2})/([0-9a-f]{38})/([^/]+)");

    /** One DVC experiment: its name, its commit, the commit it was run from, and when its commit was made. */
    public record Found(String name, String commit, String baseline, Instant created, String ref) {
    }

    private final Repository repo;
    private final String projectPrefix;

    private DvcExperimentRefs(Repository repo, String projectPrefix) {
        this.repo = repo;
        this.projectPrefix = projectPrefix;
    }

    /**
     * The DVC experiments of the git repository whose work tree holds {@code projectDir}. Fails with an
     * {@link IllegalArgumentException} where there is no such repository: DVC keeps experiments only in git.
     */
    public static DvcExperimentRefs open(Path projectDir) throws IOException {
        Path project = projectDir.toAbsolutePath().normalize().toRealPath();
        FileRepositoryBuilder finder = new FileRepositoryBuilder().findGitDir(project.toFile());
        if (finder.getGitDir() == null) {
            throw new IllegalArgumentException(project + " is not in a git repository: DVC keeps its experiments in git (refs/exps),"
                    + " so a DVC project with experiments is a git work tree (dvc init in one)");
        }
        Repository repo = finder.setMustExist(true).build();
        if (repo.isBare()) {
            repo.close();
            throw new IllegalArgumentException(project + " is in a bare git repository; expected a git work tree with a DVC project");
        }
        Path wt = repo.getWorkTree().toPath().toAbsolutePath().normalize().toRealPath();
        String prefix = wt.equals(project) ? "" : wt.relativize(project).toString().replace('\\', '/') + "/";
        return new DvcExperimentRefs(repo, prefix);
    }

    /** Every experiment under refs/exps, oldest commit first (then by name, for a stable order). */
    public List<Found> list() throws IOException {
        List<Found> out = new ArrayList<>();
        try (RevWalk walk = new RevWalk(repo)) {
            for (Ref ref : repo.getRefDatabase().getRefsByPrefix(EXPS)) {
                Matcher m = EXP_REF.matcher(ref.getName());
                if (!m.matches() || ref.getObjectId() == null) {
                    continue;
                }
                RevCommit c;
                try {
                    c = walk.parseCommit(ref.getObjectId());
                } catch (IOException e) {
                    // a ref to something that is not a commit (or is missing) is no experiment we could read
                    System.getLogger(DvcExperimentRefs.class.getName()).log(System.Logger.Level.WARNING,
                            "DVC experiment ref {0} skipped: its commit cannot be read ({1})", ref.getName(), e.getMessage());
                    continue;
                }
                out.add(new Found(m.group(3), c.getName(), m.group(1) + m.group(2), Instant.ofEpochSecond(c.getCommitTime()),
                        ref.getName()));
            }
        }
        out.sort(Comparator.comparing(Found::created).thenComparing(Found::name));
        return out;
    }

    /** The bytes of the project's file {@code path} ('/'-separated, relative to the project) in {@code commit}. */
    public Optional<byte[]> read(String commit, String path) throws IOException {
        try (RevWalk walk = new RevWalk(repo)) {
            RevCommit c = walk.parseCommit(ObjectId.fromString(commit));
            try (TreeWalk tw = TreeWalk.forPath(repo, projectPrefix + path, c.getTree())) {
                if (tw == null || (tw.getFileMode(0).getBits() & FileMode.TYPE_MASK) != FileMode.TYPE_FILE) {
                    return Optional.empty();
                }
                return Optional.of(repo.open(tw.getObjectId(0), Constants.OBJ_BLOB).getBytes());
            }
        }
    }

    /** The files under the project's folder {@code dir} in {@code commit}: path relative to the project, bytes. */
    public Map<String, byte[]> readTree(String commit, String dir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (RevWalk walk = new RevWalk(repo); ObjectReader reader = repo.newObjectReader()) {
            RevCommit c = walk.parseCommit(ObjectId.fromString(commit));
            try (TreeWalk dirWalk = TreeWalk.forPath(repo, projectPrefix + dir, c.getTree())) {
                if (dirWalk == null || !dirWalk.isSubtree()) {
                    return out;
                }
                try (TreeWalk tw = new TreeWalk(repo, reader)) {
                    tw.addTree(dirWalk.getObjectId(0));
                    tw.setRecursive(true);
                    while (tw.next()) {
                        if ((tw.getFileMode(0).getBits() & FileMode.TYPE_MASK) == FileMode.TYPE_FILE) {
                            out.put(dir + "/" + tw.getPathString(), reader.open(tw.getObjectId(0), Constants.OBJ_BLOB).getBytes());
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * Keeps {@code commit} alive for experiment {@code experimentId} as Sortie keeps its own snapshots
     * ({@code refs/sortie/experiments/<id>}), so {@code sortie apply}, {@code diff} and {@code branch} work on an imported
     * experiment after DVC's ref is gone ({@code dvc exp remove}, {@code dvc exp gc}).
     *
     * @return the ref's name
     */
    public String keep(String commit, String experimentId) throws IOException {
        String name = GitNames.experimentRef(experimentId);
        RefUpdate u = repo.updateRef(name);
        u.setNewObjectId(ObjectId.fromString(commit));
        u.setForceUpdate(true);
        u.setRefLogMessage("sortie: imported DVC experiment", false);
        RefUpdate.Result r = u.update();
        if (r != RefUpdate.Result.NEW && r != RefUpdate.Result.FORCED && r != RefUpdate.Result.NO_CHANGE) {
            throw new IOException("could not write " + name + " in " + repo.getDirectory() + ": " + r);
        }
        return name;
    }

    /** Drops a ref {@link #keep} wrote (an import that could not be recorded leaves nothing behind). */
    public void release(String experimentId) throws IOException {
        RefUpdate u = repo.updateRef(GitNames.experimentRef(experimentId));
        u.setForceUpdate(true);
        u.delete();
    }

    @Override
    public void close() {
        repo.close();
    }
}
