package dev.sortie.store;

import dev.sortie.core.store.CodeSnapshot;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Prints how long snapshot and materialize take on a 5,000-file repository; asserts results, not times. */
class SnapshotTimingTest {
    private static final int FILES = 5_000;

    @TempDir
    Path tmp;

    @Test
    void fiveThousandFiles() throws Exception {
        Path repo = tmp.resolve("repo");
        FileTime settled = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
        try (Git git = TestRepos.init(repo)) {
            for (int i = 0; i < FILES; i++) {
                Path f = TestRepos.write(repo, "pkg" + (i % 50) + "/sub" + (i % 7) + "/file" + i + ".py", "# file " + i + "\nx = " + i + "\n");
                // An hour old, as in a checkout that has settled: index entries are not racily clean.
                Files.setLastModifiedTime(f, settled);
            }
            TestRepos.commitAll(git, "5000 files");
        }

        try (GitCodeSnapshots snaps = GitCodeSnapshots.open(repo, repo.resolve(".sortie"))) {
            long cold0 = System.nanoTime();
            snaps.snapshot("first", Map.of(), "m");
            long cold = System.nanoTime() - cold0;
            for (int i = 0; i < 3; i++) {
                snaps.snapshot("warmup" + i, Map.of(), "m"); // JIT and file-system caches, as in a long-lived process
            }

            long t0 = System.nanoTime();
            CodeSnapshot clean = snaps.snapshot("clean", Map.of(), "m");
            long t1 = System.nanoTime();
            snaps.materialize(clean.ref().snapshotCommit(), tmp.resolve("out-clean"));
            long t2 = System.nanoTime();

            TestRepos.write(repo, "pkg3/sub3/file3.py", "# changed\n");
            long t3 = System.nanoTime();
            CodeSnapshot changed = snaps.snapshot("changed", Map.of(), "m");
            long t4 = System.nanoTime();
            snaps.materialize(changed.ref().snapshotCommit(), tmp.resolve("out-changed"));
            long t5 = System.nanoTime();

            System.out.printf("[timing] %d files: first snapshot %d ms; warm, clean: snapshot %d ms, materialize %d ms;"
                    + " one file changed: snapshot %d ms, materialize %d ms%n",
                    FILES, ms(cold), ms(t1 - t0), ms(t2 - t1), ms(t4 - t3), ms(t5 - t4));

            assertThat(clean.ref().dirty()).isFalse();
            assertThat(clean.files()).isEqualTo(FILES);
            assertThat(changed.ref().dirty()).isTrue();
            assertThat(tmp.resolve("out-changed/pkg3/sub3/file3.py")).hasContent("# changed");
            try (var s = Files.walk(tmp.resolve("out-clean"))) {
                // the work copy's own .git (WorkCopyRepository) is not one of the snapshot's files
                Path git = tmp.resolve("out-clean/.git");
                assertThat(s.filter(f -> !f.startsWith(git)).filter(Files::isRegularFile).count()).isEqualTo(FILES);
            }
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
