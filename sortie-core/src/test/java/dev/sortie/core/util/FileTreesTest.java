package dev.sortie.core.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @TempDir
    Path tmp;

    @Test
    void deletesATreeAndSymlinksWithoutFollowingThem() throws Exception {
        Path keep = Files.writeString(tmp.resolve("keep.txt"), "kept");
        Path root = Files.createDirectories(tmp.resolve("run/work/a/b"));
        Files.writeString(root.resolve("f"), "x");
        Files.createSymbolicLink(tmp.resolve("run/work/link"), keep);
        FileTrees.delete(tmp.resolve("run"));
        assertThat(tmp.resolve("run")).doesNotExist();
        assertThat(keep).hasContent("kept");
        FileTrees.delete(tmp.resolve("run")); // missing is fine
    }

    /**
     * A stopped local run's executor deletes its work copy while 'remove --force' deletes the whole run folder: two
     * deleters on one tree. Each must take what the other already took as gone, not fail (CI failed on it with
     * NoSuchFileException on .git/objects/pack).
     */
    @Test
    void twoDeletersOfOneTreeAtOnceBothSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 30; round++) {
                Path root = tmp.resolve("run" + round);
                for (int d = 0; d < 40; d++) {
                    Path dir = Files.createDirectories(root.resolve("work/.git/objects/" + d + "/sub"));
                    for (int f = 0; f < 10; f++) {
                        Files.writeString(dir.resolve("o" + f), "x");
                        Files.writeString(dir.getParent().resolve("p" + f), "x");
                    }
                }
                CyclicBarrier start = new CyclicBarrier(2);
                List<Future<Object>> both = new ArrayList<>();
                for (Path target : List.of(root, root.resolve("work"))) {
                    both.add(pool.submit(() -> {
                        start.await();
                        FileTrees.delete(target);
                        return null;
                    }));
                }
                for (Future<Object> f : both) {
                    f.get();
                }
                assertThat(root).doesNotExist();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
