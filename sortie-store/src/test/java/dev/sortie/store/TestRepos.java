package dev.sortie.store;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Real repositories for tests: made with JGit, read back with JGit or the git command line. */
final class TestRepos {
    static final PersonIdent TESTER = new PersonIdent("Tester", "tester@example.com");

    private TestRepos() {
    }

    static Git init(Path dir) throws GitAPIException {
        return Git.init().setDirectory(dir.toFile()).setInitialBranch("main").call();
    }

    static Path write(Path root, String rel, String content) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
        return p;
    }

    static RevCommit commitAll(Git git, String message) throws GitAPIException {
        git.add().addFilepattern(".").call();
        git.add().addFilepattern(".").setUpdate(true).call();
        return git.commit().setMessage(message).setAuthor(TESTER).setCommitter(TESTER).setSign(false).call();
    }

    /** path -> content (symlinks: "link:" + target; gitlinks: "gitlink:" + id) of a commit's tree, below prefix. */
    static Map<String, String> files(Repository repo, String commit) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (RevWalk rw = new RevWalk(repo); TreeWalk tw = new TreeWalk(repo)) {
            RevCommit c = rw.parseCommit(ObjectId.fromString(commit));
            tw.addTree(c.getTree());
            tw.setRecursive(true);
            while (tw.next()) {
                FileMode mode = tw.getFileMode(0);
                if (FileMode.GITLINK.equals(mode)) {
                    out.put(tw.getPathString(), "gitlink:" + tw.getObjectId(0).name());
                    continue;
                }
                String text = new String(repo.open(tw.getObjectId(0), Constants.OBJ_BLOB).getBytes(), StandardCharsets.UTF_8);
                out.put(tw.getPathString(), FileMode.SYMLINK.equals(mode) ? "link:" + text : text);
            }
        }
        return out;
    }

    static FileMode mode(Repository repo, String commit, String path) throws IOException {
        try (RevWalk rw = new RevWalk(repo)) {
            RevCommit c = rw.parseCommit(ObjectId.fromString(commit));
            try (TreeWalk tw = TreeWalk.forPath(repo, path, c.getTree())) {
                return tw == null ? null : tw.getFileMode(0);
            }
        }
    }

    static RevCommit commit(Repository repo, String id) throws IOException {
        try (RevWalk rw = new RevWalk(repo)) {
            return rw.parseCommit(ObjectId.fromString(id));
        }
    }

    /** Every file under {@code root} as relative path -> content, like {@link #files} (links as "link:" + target). */
    static Map<String, String> disk(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (var s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "link:" + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p)) {
                    out.put(rel, Files.readString(p));
                }
            }
        }
        return out;
    }

    /** Runs the git command line in {@code dir}, away from the machine's global and system configuration. */
    static String git(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("git");
        cmd.add("-c");
        cmd.add("user.name=Tester");
        cmd.add("-c");
        cmd.add("user.email=tester@example.com");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("git " + String.join(" ", args) + " timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("git " + String.join(" ", args) + " failed (" + p.exitValue() + "): " + out);
        }
        return out;
    }
}
