package dev.sortie.store;

import dev.sortie.core.store.CodeSnapshot;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

import static dev.sortie.store.TestRepos.git;
import static dev.sortie.store.TestRepos.write;
import static org.assertj.core.api.Assertions.assertThat;

/** Checks with the real git command line that snapshots leave the user's repository as it was. */
@Tag("integration")
class GitUserStateTest {
    @TempDir
    Path tmp;
    Path repo;

    /** What a user would notice: status, HEAD, branches, and the index file itself. */
    private record UserState(String status, String head, String symbolicHead, String branches, byte[] index, FileTime indexTime) {
        static UserState of(Path repo) throws Exception {
            Path index = repo.resolve(".git/index");
            return new UserState(
                    // --no-optional-locks: status must not refresh the index, or it would change what we compare.
                    git(repo, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"),
                    git(repo, "rev-parse", "HEAD"),
                    git(repo, "symbolic-ref", "HEAD"),
                    git(repo, "branch", "--list"),
                    Files.readAllBytes(index),
                    Files.getLastModifiedTime(index));
        }
    }

    @BeforeEach
    void createRepoWithGit() throws Exception {
        repo = Files.createDirectories(tmp.resolve("repo"));
        git(repo, "init", "-q", "-b", "main");
        write(repo, "train.py", "print('train')\n");
        write(repo, "lib/util.py", "def f(): pass\n");
        write(repo, ".gitignore", "*.log\n");
        git(repo, "add", "-A");
        git(repo, "commit", "-q", "-m", "initial");
        // Let the index be older than a second so its entries are not racily clean: a normal, settled checkout.
        Path index = repo.resolve(".git/index");
        FileTime past = FileTime.fromMillis(System.currentTimeMillis() - 60_000);
        for (String f : new String[]{"train.py", "lib/util.py", ".gitignore"}) {
            Files.setLastModifiedTime(repo.resolve(f), past);
        }
        git(repo, "update-index", "--refresh", "-q");
        assertThat(Files.getLastModifiedTime(index).toMillis()).isGreaterThan(past.toMillis());
    }

    @Test
    void snapshotOfCleanRepoMatchesHeadTreeAndChangesNothing() throws Exception {
        UserState before = UserState.of(repo);
        CodeSnapshot s;
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            s = snaps.snapshot("exp1", Map.of(), "sortie: experiment exp1");
        }
        assertThat(UserState.of(repo)).usingRecursiveComparison().isEqualTo(before);
        assertThat(s.ref().dirty()).isFalse();
        assertThat(git(repo, "rev-parse", s.ref().snapshotCommit() + "^{tree}"))
                .isEqualTo(git(repo, "rev-parse", "HEAD^{tree}"));
        assertThat(git(repo, "rev-parse", s.ref().snapshotCommit() + "^").trim()).isEqualTo(before.head().trim());
        assertThat(git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/sortie"))
                .isEqualTo("refs/sortie/experiments/exp1 " + s.ref().snapshotCommit() + "\n");
        git(repo, "fsck", "--no-progress", "--strict");
    }

    @Test
    void snapshotOfDirtyRepoChangesNothingAndHoldsTheChanges() throws Exception {
        write(repo, "train.py", "print('changed')\n");
        write(repo, "new_feature.py", "x = 1\n");
        write(repo, "debug.log", "ignored");
        write(repo, "lib/staged.py", "staged\n");
        git(repo, "add", "lib/staged.py");
        UserState before = UserState.of(repo);
        CodeSnapshot s;
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            s = snaps.snapshot("exp1", Map.of("params.yaml", "lr: 0.1\n".getBytes(StandardCharsets.UTF_8)), "m");
        }
        assertThat(UserState.of(repo)).usingRecursiveComparison().isEqualTo(before);
        assertThat(s.ref().dirty()).isTrue();
        assertThat(git(repo, "diff", "--name-status", "HEAD", s.ref().snapshotCommit()))
                .isEqualTo("A\tlib/staged.py\nA\tnew_feature.py\nA\tparams.yaml\nM\ttrain.py\n");
        assertThat(git(repo, "show", s.ref().snapshotCommit() + ":train.py")).isEqualTo("print('changed')\n");
        git(repo, "fsck", "--no-progress", "--strict");
    }

    @Test
    void applyWritesFilesButLeavesIndexHeadAndBranches() throws Exception {
        write(repo, "train.py", "print('experiment')\n");
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            git(repo, "checkout", "-q", "--", "train.py");
            write(repo, "mine.txt", "keep me\n");
            UserState before = UserState.of(repo);

            snaps.apply(s.ref().snapshotCommit());

            UserState after = UserState.of(repo);
            assertThat(after.index()).isEqualTo(before.index());
            assertThat(after.indexTime()).isEqualTo(before.indexTime());
            assertThat(after.head()).isEqualTo(before.head());
            assertThat(after.branches()).isEqualTo(before.branches());
            assertThat(after.status()).isEqualTo(" M train.py\n?? mine.txt\n");
            assertThat(repo.resolve("train.py")).hasContent("print('experiment')");
        }
    }

    @Test
    void branchShowsUpInGitWithoutMovingHead() throws Exception {
        write(repo, "train.py", "print('experiment')\n");
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            UserState before = UserState.of(repo);

            snaps.branch(s.ref().snapshotCommit(), "try/lr-0.1");

            UserState after = UserState.of(repo);
            assertThat(after.head()).isEqualTo(before.head());
            assertThat(after.symbolicHead()).isEqualTo("refs/heads/main\n");
            assertThat(after.index()).isEqualTo(before.index());
            assertThat(after.branches()).isEqualTo("* main\n  try/lr-0.1\n");
            assertThat(git(repo, "rev-parse", "try/lr-0.1").trim()).isEqualTo(s.ref().snapshotCommit());
            git(repo, "check-ref-format", "--branch", "try/lr-0.1");
        }
    }

    @Test
    void unchangedTrackedFilesAreTakenFromTheIndexNotReadAgain() throws Exception {
        // Same size and same mtime: git itself cannot tell this file changed (that is the point of the stat check),
        // so a snapshot that matches git's view proves it reused the index instead of hashing the file.
        Path f = repo.resolve("train.py");
        FileTime mtime = Files.getLastModifiedTime(f);
        Files.writeString(f, "print('TRAIN')\n");
        Files.setLastModifiedTime(f, mtime);
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            assertThat(git(repo, "show", s.ref().snapshotCommit() + ":train.py")).isEqualTo("print('train')\n");
            assertThat(git(repo, "--no-optional-locks", "status", "--porcelain")).isEmpty();
        }
    }

    @Test
    void snapshotSeesWhatGitAddAllWouldStage() throws Exception {
        write(repo, "train.py", "print('changed')\n");
        write(repo, "a/b/c.py", "deep\n");
        write(repo, "x.log", "ignored\n");
        Files.delete(repo.resolve("lib/util.py"));
        CodeSnapshot s;
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            s = snaps.snapshot("exp1", Map.of(), "m");
        }
        git(repo, "add", "-A");
        assertThat(git(repo, "write-tree")).isEqualTo(git(repo, "rev-parse", s.ref().snapshotCommit() + "^{tree}"));
    }
}
