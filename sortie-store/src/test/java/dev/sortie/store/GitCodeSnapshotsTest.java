package dev.sortie.store;

import dev.sortie.core.store.CodeSnapshot;
import dev.sortie.core.store.CodeSnapshots;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.sortie.store.TestRepos.commitAll;
import static dev.sortie.store.TestRepos.files;
import static dev.sortie.store.TestRepos.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

class GitCodeSnapshotsTest {
    @TempDir
    Path tmp;

    private Path repoDir() {
        return tmp.resolve("repo");
    }

    private Git cleanRepo() throws Exception {
        Git git = TestRepos.init(repoDir());
        write(repoDir(), "train.py", "print('train')\n");
        write(repoDir(), "src/model.py", "class Model: pass\n");
        write(repoDir(), "sortie.yaml", "tasks: {}\n");
        commitAll(git, "initial");
        return git;
    }

    private GitCodeSnapshots open(Path project) throws IOException {
        return GitCodeSnapshots.open(project, project.resolve(".sortie"));
    }

    @Test
    void cleanRepoSnapshotIsHeadsTreeOnTopOfHead() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            String head = git.getRepository().resolve("HEAD").name();

            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "sortie: experiment one");

            assertThat(s.ref().baseCommit()).isEqualTo(head);
            assertThat(s.ref().dirty()).isFalse();
            assertThat(s.ref().ref()).isEqualTo("refs/sortie/experiments/exp1");
            assertThat(s.files()).isEqualTo(3);
            assertThat(s.bytes()).isEqualTo("print('train')\n".length() + "class Model: pass\n".length() + "tasks: {}\n".length());
            Repository repo = git.getRepository();
            RevCommit c = TestRepos.commit(repo, s.ref().snapshotCommit());
            assertThat(c.getParentCount()).isEqualTo(1);
            assertThat(c.getParent(0).name()).isEqualTo(head);
            assertThat(c.getTree()).isEqualTo(TestRepos.commit(repo, head).getTree());
            assertThat(c.getFullMessage()).isEqualTo("sortie: experiment one\n");
            assertThat(repo.exactRef("refs/sortie/experiments/exp1").getObjectId().name()).isEqualTo(s.ref().snapshotCommit());
            assertThat(repo.getFullBranch()).isEqualTo("refs/heads/main");
            assertThat(repo.resolve("HEAD").name()).isEqualTo(head);
        }
    }

    @Test
    void modifiedTrackedAndUntrackedFilesAreIncludedDeletedFilesAreNot() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            write(repoDir(), "train.py", "print('changed')\n");
            write(repoDir(), "notes/new.txt", "untracked\n");
            Files.delete(repoDir().resolve("src/model.py"));

            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");

            assertThat(s.ref().dirty()).isTrue();
            assertThat(files(git.getRepository(), s.ref().snapshotCommit())).containsOnly(
                    entry("train.py", "print('changed')\n"),
                    entry("notes/new.txt", "untracked\n"),
                    entry("sortie.yaml", "tasks: {}\n"));
            // The user's view is untouched: the change is still unstaged, the new file still untracked.
            var status = git.status().call();
            assertThat(status.getModified()).containsExactly("train.py");
            assertThat(status.getUntracked()).containsExactly("notes/new.txt");
            assertThat(status.getMissing()).containsExactly("src/model.py");
            assertThat(status.getAdded()).isEmpty();
            assertThat(status.getChanged()).isEmpty();
        }
    }

    @Test
    void ignoredFilesAndSortieIgnoredFilesAreLeftOut() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), ".gitignore", "*.log\n/build/\n");
            write(repoDir(), "pkg/.gitignore", "local-*.txt\n!local-keep.txt\n");
            write(repoDir(), ".sortieignore", "data/\n*.ckpt\n");
            write(repoDir(), "pkg/sub/.sortieignore", "scratch.py\n");
            write(repoDir(), "tracked-data/.keep", "");
            write(repoDir(), "main.py", "main\n");
            write(repoDir(), "pkg/lib.py", "lib\n");
            write(repoDir(), "pkg/sub/keep.py", "keep\n");
            commitAll(git, "initial");
            // tracked, but .sortieignore drops it anyway
            write(repoDir(), "weights.ckpt", "big");
            git.add().addFilepattern("weights.ckpt").call();
            git.commit().setMessage("ckpt").setAuthor(TestRepos.TESTER).setCommitter(TestRepos.TESTER).setSign(false).call();
            write(repoDir(), "run.log", "log");
            write(repoDir(), "build/out.o", "obj");
            write(repoDir(), "pkg/local-a.txt", "ignored by nested .gitignore");
            write(repoDir(), "pkg/local-keep.txt", "re-included");
            write(repoDir(), "data/train.csv", "1,2,3");
            write(repoDir(), "pkg/sub/scratch.py", "scratch");
            write(repoDir(), "pkg/scratch.py", "not below the nested .sortieignore");
            write(repoDir(), ".git/info/exclude", "secret.env\n");
            write(repoDir(), "secret.env", "KEY=1");
            write(repoDir(), ".sortie/ledger.db", "db");
            write(repoDir(), "sub/.sortie/x", "state of a nested project");

            CodeSnapshot s;
            try (GitCodeSnapshots snaps = open(repoDir())) {
                s = snaps.snapshot("exp1", Map.of(), "m");
            }

            assertThat(files(git.getRepository(), s.ref().snapshotCommit()).keySet()).containsExactlyInAnyOrder(
                    ".gitignore", ".sortieignore", "main.py", "tracked-data/.keep",
                    "pkg/.gitignore", "pkg/lib.py", "pkg/local-keep.txt", "pkg/scratch.py",
                    "pkg/sub/.sortieignore", "pkg/sub/keep.py");
        }
    }

    @Test
    void trackedFileInsideIgnoredFolderStays() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), "vendor/tracked.py", "t\n");
            commitAll(git, "initial");
            write(repoDir(), ".gitignore", "vendor/\n");
            write(repoDir(), "vendor/untracked.py", "u\n");

            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                assertThat(files(git.getRepository(), s.ref().snapshotCommit()).keySet())
                        .containsExactlyInAnyOrder(".gitignore", "vendor/tracked.py");
            }
        }
    }

    @Test
    void execBitsAndSymlinksSurviveSnapshotAndMaterialize() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            Path script = write(repoDir(), "bin/run.sh", "#!/bin/sh\necho hi\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
            write(repoDir(), "conf/base.yaml", "a: 1\n");
            Files.createSymbolicLink(repoDir().resolve("current.yaml"), Path.of("conf/base.yaml"));
            commitAll(git, "initial");
            // an untracked executable and link, too
            Path tool = write(repoDir(), "tool.py", "#!/usr/bin/env python\n");
            Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createSymbolicLink(repoDir().resolve("bin/up"), Path.of(".."));

            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                Repository repo = git.getRepository();
                String c = s.ref().snapshotCommit();
                assertThat(TestRepos.mode(repo, c, "bin/run.sh")).isEqualTo(FileMode.EXECUTABLE_FILE);
                assertThat(TestRepos.mode(repo, c, "tool.py")).isEqualTo(FileMode.EXECUTABLE_FILE);
                assertThat(TestRepos.mode(repo, c, "conf/base.yaml")).isEqualTo(FileMode.REGULAR_FILE);
                assertThat(TestRepos.mode(repo, c, "current.yaml")).isEqualTo(FileMode.SYMLINK);
                assertThat(TestRepos.mode(repo, c, "bin/up")).isEqualTo(FileMode.SYMLINK);

                Path out = tmp.resolve("out");
                snaps.materialize(c, out);

                assertThat(Files.isExecutable(out.resolve("bin/run.sh"))).isTrue();
                assertThat(Files.isExecutable(out.resolve("tool.py"))).isTrue();
                assertThat(Files.isExecutable(out.resolve("conf/base.yaml"))).isFalse();
                assertThat(Files.isSymbolicLink(out.resolve("current.yaml"))).isTrue();
                assertThat(Files.readSymbolicLink(out.resolve("current.yaml"))).isEqualTo(Path.of("conf/base.yaml"));
                assertThat(out.resolve("current.yaml")).hasContent("a: 1");
                assertThat(Files.readSymbolicLink(out.resolve("bin/up"))).isEqualTo(Path.of(".."));
                assertThat(out.resolve("bin/run.sh")).hasContent("#!/bin/sh\necho hi");
            }
        }
    }

    @Test
    void overridesReplaceAndAddFilesInTheSnapshotOnly() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            Path script = repoDir().resolve("train.py");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
            commitAll(git, "exec");
            Map<String, byte[]> overrides = Map.of(
                    "sortie.yaml", "tasks: {lr: 0.1}\n".getBytes(StandardCharsets.UTF_8),
                    "train.py", "print('override')\n".getBytes(StandardCharsets.UTF_8),
                    "conf/params.yaml", "lr: 0.1\n".getBytes(StandardCharsets.UTF_8));

            CodeSnapshot s = snaps.snapshot("exp1", overrides, "m");

            Map<String, String> snap = files(git.getRepository(), s.ref().snapshotCommit());
            assertThat(snap).containsEntry("sortie.yaml", "tasks: {lr: 0.1}\n")
                    .containsEntry("train.py", "print('override')\n")
                    .containsEntry("conf/params.yaml", "lr: 0.1\n")
                    .containsEntry("src/model.py", "class Model: pass\n");
            assertThat(TestRepos.mode(git.getRepository(), s.ref().snapshotCommit(), "train.py")).isEqualTo(FileMode.EXECUTABLE_FILE);
            // The workspace did not change, and Sortie's own edits do not make a clean checkout dirty.
            assertThat(repoDir().resolve("sortie.yaml")).hasContent("tasks: {}");
            assertThat(repoDir().resolve("conf")).doesNotExist();
            assertThat(git.status().call().isClean()).isTrue();
            assertThat(s.ref().dirty()).isFalse();
            assertThat(s.files()).isEqualTo(4);
        }
    }

    @Test
    void badOverridePathsAndExperimentIdsAreRefused() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            for (String bad : List.of("../escape", "/abs", "a/../b", ".git/config", "a//b", "dir/", "x/.GIT/hooks/pre-commit")) {
                assertThatThrownBy(() -> snaps.snapshot("exp1", Map.of(bad, new byte[0]), "m")).as(bad)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid snapshot path");
            }
            for (String bad : List.of("", "a/b", "..", "a..b", "-x", "x.lock", "a b", "x~1", "x:y")) {
                assertThatThrownBy(() -> snaps.snapshot(bad, Map.of(), "m")).as(bad)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid experiment id");
            }
            assertThat(git.getRepository().getRefDatabase().getRefsByPrefix("refs/sortie/")).isEmpty();
        }
    }

    @Test
    void repositoryWithoutCommitsGivesParentlessSnapshot() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), "a.py", "a\n");
            write(repoDir(), "staged.py", "s\n");
            git.add().addFilepattern("staged.py").call();

            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                assertThat(s.ref().baseCommit()).isNull();
                assertThat(s.ref().dirty()).isTrue();
                RevCommit c = TestRepos.commit(git.getRepository(), s.ref().snapshotCommit());
                assertThat(c.getParentCount()).isZero();
                assertThat(files(git.getRepository(), c.name())).containsOnly(entry("a.py", "a\n"), entry("staged.py", "s\n"));
                assertThat(git.getRepository().resolve("HEAD")).isNull();
            }
        }
    }

    @Test
    void projectInSubfolderSnapshotsTheRepoButMaterializesAndAppliesTheProject() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), "README.md", "root\n");
            write(repoDir(), "libs/common.py", "common\n");
            write(repoDir(), "ml/proj/train.py", "train\n");
            write(repoDir(), "ml/proj/sortie.yaml", "tasks: {}\n");
            commitAll(git, "initial");
            write(repoDir(), "libs/common.py", "common changed\n");
            write(repoDir(), "scratch-outside.txt", "untracked outside the project");
            write(repoDir(), "ml/proj/new.py", "new\n");
            write(repoDir(), "ml/proj/.sortie/ledger.db", "db");
            Path project = repoDir().resolve("ml/proj");

            try (GitCodeSnapshots snaps = open(project)) {
                assertThat(snaps.projectPrefix()).isEqualTo("ml/proj");
                assertThat(snaps.isPrivateRepository()).isFalse();
                CodeSnapshot s = snaps.snapshot("exp1", Map.of("sortie.yaml", "tasks: {x: 1}\n".getBytes(StandardCharsets.UTF_8)), "m");

                assertThat(files(git.getRepository(), s.ref().snapshotCommit())).containsOnly(
                        entry("README.md", "root\n"),
                        entry("libs/common.py", "common changed\n"),
                        entry("ml/proj/train.py", "train\n"),
                        entry("ml/proj/new.py", "new\n"),
                        entry("ml/proj/sortie.yaml", "tasks: {x: 1}\n"));
                assertThat(s.files()).isEqualTo(3);
                assertThat(s.ref().dirty()).isTrue();

                Path out = tmp.resolve("out");
                snaps.materialize(s.ref().snapshotCommit(), out);
                assertThat(TestRepos.disk(out)).containsOnly(
                        entry("train.py", "train\n"), entry("new.py", "new\n"), entry("sortie.yaml", "tasks: {x: 1}\n"));

                write(repoDir(), "ml/proj/train.py", "edited later\n");
                write(repoDir(), "libs/common.py", "edited later\n");
                snaps.apply(s.ref().snapshotCommit());
                assertThat(project.resolve("train.py")).hasContent("train");
                assertThat(project.resolve("sortie.yaml")).hasContent("tasks: {x: 1}");
                assertThat(repoDir().resolve("libs/common.py")).hasContent("edited later");
            }
        }
    }

    @Test
    void subfolderProjectIsCleanWhenOnlyTheRestOfTheRepoChanged() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), "other/x.py", "x\n");
            write(repoDir(), "proj/train.py", "train\n");
            commitAll(git, "initial");
            write(repoDir(), "other/x.py", "changed\n");
            try (GitCodeSnapshots snaps = open(repoDir().resolve("proj"))) {
                assertThat(snaps.snapshot("exp1", Map.of(), "m").ref().dirty()).isFalse();
            }
        }
    }

    @Test
    void projectOutsideGitUsesPrivateBareRepository() throws Exception {
        Path project = tmp.resolve("plain");
        write(project, "train.py", "v1\n");
        Path script = write(project, "run.sh", "#!/bin/sh\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        write(project, ".gitignore", "*.tmp\n");
        write(project, ".sortieignore", "data/\n");
        write(project, "junk.tmp", "junk");
        write(project, "data/big.bin", "big");
        Path state = project.resolve(".sortie");
        write(state, "ledger.db", "db");

        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(project, state)) {
            assertThat(snaps.isPrivateRepository()).isTrue();
            assertThat(snaps.repositoryDir()).isEqualTo(state.resolve("code.git"));
            CodeSnapshot first = snaps.snapshot("exp1", Map.of(), "m");
            assertThat(first.ref().baseCommit()).isNull();
            assertThat(first.ref().dirty()).isTrue();
            assertThat(first.files()).isEqualTo(4);

            // Changed content (same size, as a same-second edit would be) and a new file show up next time.
            write(project, "train.py", "v2\n");
            write(project, "extra.py", "extra\n");
            CodeSnapshot second = snaps.snapshot("exp2", Map.of("params.yaml", "lr: 1\n".getBytes(StandardCharsets.UTF_8)), "m");

            try (Repository priv = new FileRepositoryBuilder().setGitDir(state.resolve("code.git").toFile()).setMustExist(true).build()) {
                assertThat(priv.isBare()).isTrue();
                assertThat(TestRepos.commit(priv, first.ref().snapshotCommit()).getParentCount()).isZero();
                assertThat(TestRepos.commit(priv, second.ref().snapshotCommit()).getParentCount()).isZero();
                assertThat(files(priv, first.ref().snapshotCommit())).containsOnly(
                        entry("train.py", "v1\n"), entry("run.sh", "#!/bin/sh\n"),
                        entry(".gitignore", "*.tmp\n"), entry(".sortieignore", "data/\n"));
                assertThat(files(priv, second.ref().snapshotCommit())).containsEntry("train.py", "v2\n")
                        .containsEntry("extra.py", "extra\n").containsEntry("params.yaml", "lr: 1\n");
                assertThat(priv.exactRef("refs/sortie/experiments/exp2")).isNotNull();
            }
            Path out = tmp.resolve("out");
            snaps.materialize(first.ref().snapshotCommit(), out);
            assertThat(out.resolve("train.py")).hasContent("v1");
            assertThat(Files.isExecutable(out.resolve("run.sh"))).isTrue();
            assertThatThrownBy(() -> snaps.branch(first.ref().snapshotCommit(), "x"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("not in a git repository");
        }
        assertThat(project.resolve(".git")).doesNotExist();
    }

    @Test
    void applyRestoresChangedFilesAndLeavesExtras() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            write(repoDir(), "train.py", "print('experiment version')\n");
            CodeSnapshot s = snaps.snapshot("exp1", Map.of("conf/p.yaml", "p: 1\n".getBytes(StandardCharsets.UTF_8)), "m");
            write(repoDir(), "train.py", "print('later edit')\n");
            Files.delete(repoDir().resolve("src/model.py"));
            write(repoDir(), "extra.txt", "mine\n");
            Path untouched = repoDir().resolve("sortie.yaml");
            var before = Files.getLastModifiedTime(untouched);
            Thread.sleep(20);

            snaps.apply(s.ref().snapshotCommit());

            assertThat(repoDir().resolve("train.py")).hasContent("print('experiment version')");
            assertThat(repoDir().resolve("src/model.py")).hasContent("class Model: pass");
            assertThat(repoDir().resolve("conf/p.yaml")).hasContent("p: 1");
            assertThat(repoDir().resolve("extra.txt")).hasContent("mine");
            assertThat(Files.getLastModifiedTime(untouched)).isEqualTo(before);
            assertThat(git.getRepository().resolve("HEAD")).isEqualTo(TestRepos.commit(git.getRepository(), s.ref().snapshotCommit()).getParent(0));
            var status = git.status().call();
            assertThat(status.getModified()).containsExactly("train.py");
            assertThat(status.getUntracked()).containsExactlyInAnyOrder("extra.txt", "conf/p.yaml");
            try (var list = Files.list(repoDir())) {
                assertThat(list.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
        }
    }

    @Test
    void applyRefusesFileFolderClashesBeforeWritingAnything() throws Exception {
        cleanRepo().close();
        try (GitCodeSnapshots snaps = open(repoDir())) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            write(repoDir(), "train.py", "edited\n");
            Files.delete(repoDir().resolve("src/model.py"));
            Files.delete(repoDir().resolve("src"));
            write(repoDir(), "src", "now a file");

            assertThatThrownBy(() -> snaps.apply(s.ref().snapshotCommit()))
                    .isInstanceOf(IOException.class).hasMessageContaining("src is a file here but a folder");
            assertThat(repoDir().resolve("train.py")).hasContent("edited");
        }
    }

    @Test
    void branchIsCreatedAtTheSnapshotWithoutCheckingItOut() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            write(repoDir(), "train.py", "print('exp')\n");
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            String head = git.getRepository().resolve("HEAD").name();

            snaps.branch(s.ref().snapshotCommit(), "exp/lr-0.1");

            Ref b = git.getRepository().exactRef("refs/heads/exp/lr-0.1");
            assertThat(b.getObjectId().name()).isEqualTo(s.ref().snapshotCommit());
            assertThat(git.getRepository().getFullBranch()).isEqualTo("refs/heads/main");
            assertThat(git.getRepository().resolve("HEAD").name()).isEqualTo(head);
            assertThatThrownBy(() -> snaps.branch(s.ref().snapshotCommit(), "exp/lr-0.1"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already exists");
            assertThatThrownBy(() -> snaps.branch(s.ref().snapshotCommit(), "main"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already exists");
            assertThatThrownBy(() -> snaps.branch(s.ref().snapshotCommit(), "exp"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clashes");
            for (String bad : List.of("", "-x", "a..b", "a b", "x.lock", "a~1", "a^", "a:b", "a?", "a*", "a[", "/a", "a/",
                    "a//b", ".hidden", "a/.b", "HEAD", "@", "a@{1}", "a\\b", "end.")) {
                assertThatThrownBy(() -> snaps.branch(s.ref().snapshotCommit(), bad)).as(bad)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid branch name");
            }
            assertThatThrownBy(() -> snaps.branch("0123456789012345678901234567890123456789", "ok"))
                    .isInstanceOf(IOException.class).hasMessageContaining("not in the repository");
            assertThatThrownBy(() -> snaps.branch("HEAD", "ok")).isInstanceOf(IllegalArgumentException.class);
            assertThat(git.getRepository().exactRef("refs/heads/ok")).isNull();
        }
    }

    @Test
    void releaseDropsTheRefAndIsIdempotent() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            snaps.snapshot("exp2", Map.of(), "m");

            snaps.release("exp1");
            snaps.release("exp1");

            assertThat(git.getRepository().exactRef(s.ref().ref())).isNull();
            assertThat(git.getRepository().exactRef("refs/sortie/experiments/exp2")).isNotNull();
            // The commit stays readable until git gc removes it.
            snaps.materialize(s.ref().snapshotCommit(), tmp.resolve("out"));
            assertThat(tmp.resolve("out/train.py")).exists();
        }
    }

    @Test
    void aBatchScansOnceAndKeepsEachRequestsOverridesToItself() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            List<CodeSnapshots.Request> requests = List.of(
                    new CodeSnapshots.Request("b1", Map.of("params.yaml", "lr: 1\n".getBytes(StandardCharsets.UTF_8)), "m1"),
                    new CodeSnapshots.Request("b2", Map.of("other.yaml", "x: 2\n".getBytes(StandardCharsets.UTF_8)), "m2"),
                    new CodeSnapshots.Request("b3", Map.of(), "m3"));
            List<CodeSnapshot> out = snaps.snapshotAll(requests);
            assertThat(out).hasSize(3);
            assertThat(files(git.getRepository(), out.get(0).ref().snapshotCommit())).containsEntry("params.yaml", "lr: 1\n").doesNotContainKey("other.yaml");
            assertThat(files(git.getRepository(), out.get(1).ref().snapshotCommit())).containsEntry("other.yaml", "x: 2\n").doesNotContainKey("params.yaml");
            assertThat(files(git.getRepository(), out.get(2).ref().snapshotCommit())).doesNotContainKeys("params.yaml", "other.yaml");
            assertThat(out.get(0).files()).isEqualTo(out.get(2).files() + 1);
            for (int i = 0; i < 3; i++) {
                assertThat(git.getRepository().exactRef("refs/sortie/experiments/b" + (i + 1)).getObjectId().name())
                        .isEqualTo(out.get(i).ref().snapshotCommit());
            }
        }
    }

    @Test
    void concurrentSnapshotsInOneRepositoryBothSucceed() throws Exception {
        try (Git git = cleanRepo()) {
            for (int i = 0; i < 200; i++) {
                write(repoDir(), "untracked/f" + i + ".txt", "content " + i);
            }
            int workers = 4;
            ExecutorService pool = Executors.newFixedThreadPool(workers);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<CodeSnapshot>> results = new ArrayList<>();
            try {
                for (int i = 0; i < workers; i++) {
                    String id = "exp" + i;
                    Map<String, byte[]> ov = Map.of("params.yaml", ("i: " + i + "\n").getBytes(StandardCharsets.UTF_8));
                    results.add(pool.submit(() -> {
                        // One instance per worker, as separate processes would have.
                        try (GitCodeSnapshots snaps = open(repoDir())) {
                            start.await();
                            return snaps.snapshot(id, ov, "m");
                        }
                    }));
                }
                start.countDown();
                for (int i = 0; i < workers; i++) {
                    CodeSnapshot s = results.get(i).get();
                    assertThat(s.files()).isEqualTo(204);
                    assertThat(files(git.getRepository(), s.ref().snapshotCommit())).containsEntry("params.yaml", "i: " + i + "\n");
                    assertThat(git.getRepository().exactRef("refs/sortie/experiments/exp" + i).getObjectId().name())
                            .isEqualTo(s.ref().snapshotCommit());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void resnapshotWithSameIdMovesTheRef() throws Exception {
        try (Git git = cleanRepo(); GitCodeSnapshots snaps = open(repoDir())) {
            CodeSnapshot a = snaps.snapshot("exp1", Map.of(), "m");
            write(repoDir(), "train.py", "v2\n");
            CodeSnapshot b = snaps.snapshot("exp1", Map.of(), "m");
            assertThat(b.ref().snapshotCommit()).isNotEqualTo(a.ref().snapshotCommit());
            assertThat(git.getRepository().exactRef("refs/sortie/experiments/exp1").getObjectId().name())
                    .isEqualTo(b.ref().snapshotCommit());
        }
    }

    @Test
    void authorComesFromTheRepositoryConfig() throws Exception {
        try (Git git = cleanRepo()) {
            var config = git.getRepository().getConfig();
            config.setString("user", null, "name", "Ada Lovelace");
            config.setString("user", null, "email", "ada@example.com");
            config.save();
            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                RevCommit c = TestRepos.commit(git.getRepository(), s.ref().snapshotCommit());
                assertThat(c.getAuthorIdent().getName()).isEqualTo("Ada Lovelace");
                assertThat(c.getCommitterIdent().getEmailAddress()).isEqualTo("ada@example.com");
            }
        }
    }

    @Test
    void materializeRejectsUnknownCommits() throws Exception {
        cleanRepo().close();
        try (GitCodeSnapshots snaps = open(repoDir())) {
            assertThatThrownBy(() -> snaps.materialize("ffffffffffffffffffffffffffffffffffffffff", tmp.resolve("o")))
                    .isInstanceOf(IOException.class).hasMessageContaining("not in the repository");
            assertThatThrownBy(() -> snaps.materialize("../../etc", tmp.resolve("o")))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void nestedRepositoryIsRecordedAsGitDoesAndMaterializedAsAnEmptyFolder() throws Exception {
        try (Git git = cleanRepo(); Git inner = TestRepos.init(repoDir().resolve("third_party/lib"))) {
            write(repoDir(), "third_party/lib/lib.py", "lib\n");
            RevCommit innerHead = commitAll(inner, "inner");
            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                assertThat(files(git.getRepository(), s.ref().snapshotCommit()))
                        .containsEntry("third_party/lib", "gitlink:" + innerHead.name())
                        .doesNotContainKey("third_party/lib/lib.py");
                Path out = tmp.resolve("out");
                snaps.materialize(s.ref().snapshotCommit(), out);
                assertThat(out.resolve("third_party/lib")).isEmptyDirectory();
            }
        }
    }

    @Test
    void largeUntrackedFileIsStoredWhole() throws Exception {
        cleanRepo().close();
        try (GitCodeSnapshots snaps = open(repoDir())) {
            byte[] big = new byte[40 * 1024 * 1024];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) ('a' + i % 26);
            }
            Files.write(repoDir().resolve("weights.bin"), big);
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            Path out = tmp.resolve("out");
            snaps.materialize(s.ref().snapshotCommit(), out);
            assertThat(Files.mismatch(out.resolve("weights.bin"), repoDir().resolve("weights.bin"))).isEqualTo(-1L);
            assertThat(s.bytes()).isGreaterThan(big.length);
        }
    }

    @Test
    void unreadableIndexFallsBackToHeadAndKeepsTrackedFilesInIgnoredFolders() throws Exception {
        try (Git git = TestRepos.init(repoDir())) {
            write(repoDir(), "vendor/tracked.py", "t\n");
            write(repoDir(), "main.py", "m\n");
            commitAll(git, "initial");
            write(repoDir(), ".gitignore", "vendor/\n");
            write(repoDir(), "main.py", "changed\n");
            // An index extension JGit does not know (as with git's split or sparse index) makes it unreadable.
            Files.write(repoDir().resolve(".git/index"), "DIRC garbage".getBytes(StandardCharsets.UTF_8));
            try (GitCodeSnapshots snaps = open(repoDir())) {
                CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
                assertThat(files(git.getRepository(), s.ref().snapshotCommit())).containsOnly(
                        entry(".gitignore", "vendor/\n"), entry("main.py", "changed\n"), entry("vendor/tracked.py", "t\n"));
            }
        }
    }

    @Test
    void privateRepositoryIsCreatedOnceWhenProcessesRace() throws Exception {
        Path project = tmp.resolve("plain");
        write(project, "train.py", "x\n");
        Path state = project.resolve(".sortie");
        int workers = 4;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<CodeSnapshot>> results = new ArrayList<>();
        try {
            for (int i = 0; i < workers; i++) {
                String id = "exp" + i;
                results.add(pool.submit(() -> {
                    start.await();
                    try (GitCodeSnapshots snaps = GitCodeSnapshots.open(project, state)) {
                        return snaps.snapshot(id, Map.of(), "m");
                    }
                }));
            }
            start.countDown();
            for (Future<CodeSnapshot> f : results) {
                assertThat(f.get().files()).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
        try (var list = Files.list(state)) {
            assertThat(list.map(p -> p.getFileName().toString())).containsExactly("code.git");
        }
        try (Repository priv = new FileRepositoryBuilder().setGitDir(state.resolve("code.git").toFile()).setMustExist(true).build()) {
            assertThat(priv.getRefDatabase().getRefsByPrefix("refs/sortie/experiments/")).hasSize(workers);
        }
    }

    @Test
    void applyWorksForProjectsOutsideGit() throws Exception {
        Path project = tmp.resolve("plain");
        write(project, "train.py", "v1\n");
        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(project, project.resolve(".sortie"))) {
            CodeSnapshot s = snaps.snapshot("exp1", Map.of(), "m");
            assertThat(project.resolve(".sortie/code.git/index")).exists(); // the stat cache
            write(project, "train.py", "v2 longer\n");
            snaps.apply(s.ref().snapshotCommit());
            assertThat(project.resolve("train.py")).hasContent("v1");
        }
    }
}
