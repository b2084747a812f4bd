package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.executor.CodeFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CodeCacheTest {
    @TempDir
    Path tmp;

    Path blob(String id, byte[] content, String perms) throws IOException {
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        Path b = cache.resolve(id);
        Files.write(b, content);
        Files.setPosixFilePermissions(b, PosixFilePermissions.fromString(perms));
        return b;
    }

    static String id(char c) {
        return String.valueOf(c).repeat(40);
    }

    @Test
    void smallFilesAndExecutablesAreCopiesBigReadOnlyBlobsAreLinks() throws Exception {
        Path small = blob(id('a'), "print(1)\n".getBytes(), "r--r--r--");
        Path big = blob(id('b'), new byte[(int) CodeCache.LINK_AT_LEAST], "r--r--r--");
        Path tool = blob(id('c'), new byte[(int) CodeCache.LINK_AT_LEAST], "r--r--r--");
        Path writable = blob(id('d'), new byte[(int) CodeCache.LINK_AT_LEAST], "rw-r--r--");
        Path link = blob(id('e'), "train.py".getBytes(), "r--r--r--");
        Path work = tmp.resolve("work");
        new CodeCache(tmp.resolve("cache"), true).materialize(List.of(
                new CodeFile("train.py", CodeFile.Kind.FILE, id('a'), 9),
                new CodeFile("data/big.bin", CodeFile.Kind.FILE, id('b'), CodeCache.LINK_AT_LEAST),
                new CodeFile("bin/tool", CodeFile.Kind.EXECUTABLE, id('c'), CodeCache.LINK_AT_LEAST),
                new CodeFile("data/other.bin", CodeFile.Kind.FILE, id('d'), CodeCache.LINK_AT_LEAST),
                new CodeFile("alias.py", CodeFile.Kind.SYMLINK, id('e'), 8)), work);
        assertThat(Files.isSameFile(work.resolve("train.py"), small)).isFalse();
        assertThat(work.resolve("train.py")).hasContent("print(1)");
        assertThat(Files.isSameFile(work.resolve("data/big.bin"), big)).as("a link costs nothing").isTrue();
        assertThat(Files.isSameFile(work.resolve("bin/tool"), tool)).isFalse();
        assertThat(Files.isExecutable(work.resolve("bin/tool"))).isTrue();
        assertThat(Files.isSameFile(work.resolve("data/other.bin"), writable)).as("a writable blob is never shared").isFalse();
        assertThat(Files.readSymbolicLink(work.resolve("alias.py"))).isEqualTo(Path.of("train.py"));
        // the run may replace a linked file; the cache keeps its bytes
        Files.delete(work.resolve("data/big.bin"));
        Files.writeString(work.resolve("data/big.bin"), "replaced");
        assertThat(Files.size(big)).isEqualTo(CodeCache.LINK_AT_LEAST);
    }

    @Test
    void asRootEverythingIsCopied() throws Exception {
        Path big = blob(id('b'), new byte[(int) CodeCache.LINK_AT_LEAST], "r--r--r--");
        Path work = tmp.resolve("work");
        new CodeCache(tmp.resolve("cache"), false).materialize(List.of(
                new CodeFile("big.bin", CodeFile.Kind.FILE, id('b'), CodeCache.LINK_AT_LEAST)), work);
        assertThat(Files.isSameFile(work.resolve("big.bin"), big)).isFalse();
    }

    @Test
    void pathsThatEscapeAndMissingBlobsAreRefusedClearly() throws Exception {
        blob(id('a'), "x".getBytes(), "r--r--r--");
        Path work = tmp.resolve("work");
        CodeCache cache = new CodeCache(tmp.resolve("cache"), true);
        assertThatThrownBy(() -> cache.materialize(List.of(new CodeFile("../evil", CodeFile.Kind.FILE, id('a'), 1)), work))
                .hasMessageContaining("outside the work folder");
        assertThatThrownBy(() -> cache.materialize(List.of(new CodeFile("x.py", CodeFile.Kind.FILE, id('f'), 1)), work))
                .hasMessageContaining("is not in the host's cache").hasMessageContaining("x.py");
    }
}
