package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.executor.CodeFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A finished run's work folder reused by the next run: exactly the new file list, whatever the old run did to it. */
class WorkFolderReuseTest {
    @TempDir
    Path tmp;

    String blob(String content) throws IOException {
        String id;
        try {
            id = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(content.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        Path b = cache.resolve(id);
        if (Files.exists(b)) {
            return id;
        }
        Files.writeString(b, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(b, PosixFilePermissions.fromString("r--r--r--"));
        return id;
    }

    CodeFile file(String path, String content) throws IOException {
        return new CodeFile(path, CodeFile.Kind.FILE, blob(content), content.length());
    }

    @Test
    void aReusedFolderBecomesExactlyTheNewTreeAndUnchangedFilesAreNotWrittenAgain() throws Exception {
        CodeCache cache = new CodeCache(tmp.resolve("cache"), false);
        WorkFolderReuse reuse = new WorkFolderReuse(tmp.resolve("spare"));
        Path first = Files.createDirectories(tmp.resolve("run1/work"));
        List<CodeFile> v1 = List.of(file("train.py", "print(1)\n"), file("data/a.csv", "1,2\n"), file("data/b.csv", "3,4\n"),
                file("conf.yaml", "lr: 1\n"), new CodeFile("run.sh", CodeFile.Kind.EXECUTABLE, blob("#!/bin/sh\n"), 10));
        assertThat(reuse.claim(first)).isFalse();
        cache.materialize(v1, first);
        Object untouched = Files.getAttribute(first.resolve("data/a.csv"), "unix:ino");
        // the run does what runs do: writes outputs, changes a file in place, drops a link out of the folder
        Files.writeString(first.resolve("out.txt"), "result");
        Files.createDirectories(first.resolve(".sortie/checkpoints"));
        Files.writeString(first.resolve(".sortie/checkpoints/c.pt"), "ckpt");
        Files.writeString(first.resolve("conf.yaml"), "lr: 9\n");
        Files.createSymbolicLink(first.resolve("escape"), tmp.resolve("outside"));
        Files.createDirectories(tmp.resolve("outside"));
        Files.setPosixFilePermissions(first.resolve("run.sh"), PosixFilePermissions.fromString("rw-r--r--"));
        reuse.retire(first);
        assertThat(first).doesNotExist();

        Path second = Files.createDirectories(tmp.resolve("run2/work"));
        assertThat(reuse.claim(second)).isTrue();
        List<CodeFile> v2 = List.of(file("train.py", "print(2)\n"), file("data/a.csv", "1,2\n"), file("conf.yaml", "lr: 1\n"),
                new CodeFile("run.sh", CodeFile.Kind.EXECUTABLE, blob("#!/bin/sh\n"), 10), file("new/x.txt", "x"));
        cache.materialize(v2, second);
        assertThat(second.resolve("train.py")).hasContent("print(2)");
        assertThat(second.resolve("conf.yaml")).as("changed by the old run: written again").hasContent("lr: 1");
        assertThat(second.resolve("new/x.txt")).hasContent("x");
        assertThat(Files.getAttribute(second.resolve("data/a.csv"), "unix:ino")).as("unchanged: kept as it was").isEqualTo(untouched);
        assertThat(Files.isExecutable(second.resolve("run.sh"))).isTrue();
        assertThat(second.resolve("data/b.csv")).as("not in the new tree").doesNotExist();
        assertThat(second.resolve("out.txt")).doesNotExist();
        assertThat(second.resolve(".sortie/checkpoints")).doesNotExist();
        assertThat(second.resolve("escape")).doesNotExist();
        assertThat(tmp.resolve("outside")).exists();
        try (var s = Files.walk(second)) {
            assertThat(s.filter(Files::isRegularFile).map(p -> second.relativize(p).toString()).sorted().toList())
                    .containsExactly(".sortie/layout.tsv", "conf.yaml", "data/a.csv", "new/x.txt", "run.sh", "train.py");
        }
    }

    @Test
    void aFolderWithoutALayoutIsNotKeptAndSparesAreBounded() throws Exception {
        WorkFolderReuse reuse = new WorkFolderReuse(tmp.resolve("spare"));
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(plain.resolve("x"), "x");
        reuse.retire(plain);
        assertThat(plain).doesNotExist();
        assertThat(tmp.resolve("spare")).doesNotExist();
        CodeCache cache = new CodeCache(tmp.resolve("cache"), false);
        for (int i = 0; i < WorkFolderReuse.MAX_SPARES + 2; i++) {
            Path w = Files.createDirectories(tmp.resolve("r" + i + "/work"));
            cache.materialize(List.of(file("a.py", "a")), w);
            reuse.retire(w);
        }
        try (var s = Files.list(tmp.resolve("spare"))) {
            assertThat(s.count()).isEqualTo(WorkFolderReuse.MAX_SPARES);
        }
    }
}
