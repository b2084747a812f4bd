package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.store.LocalBlobStore;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's code cache filled from the project's store (a local store here; S3 in AwsNodeStoreTest). */
class CodeFromStoreTest {
    @TempDir
    Path tmp;

    @Test
    void aBlobTheCacheLacksComesFromTheStoreCheckedAgainstItsGitId() throws Exception {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        byte[] text = "print('hi')\n".getBytes(StandardCharsets.UTF_8);
        String sha = store.put(new ByteArrayInputStream(text));
        Path f = Files.write(tmp.resolve("t"), text);
        String git = CodeCache.gitBlobId(f, false);
        assertThat(git).isEqualTo("9f1b437537a2acdadafd3174f6f0af9c1a04f5e4"); // git hash-object of the same bytes
        CodeCache cache = new CodeCache(tmp.resolve("cache/code"));
        List<CodeFile> files = List.of(new CodeFile("train.py", CodeFile.Kind.FILE, git, text.length));
        cache.fillFrom(files, Map.of(git, sha), store);
        assertThat(tmp.resolve("cache/code/" + git)).hasBinaryContent(text);
        cache.materialize(files, tmp.resolve("work"));
        assertThat(tmp.resolve("work/train.py")).hasBinaryContent(text);
    }

    @Test
    void aStoreBlobThatIsNotTheNamedGitBlobNeverEntersTheCache() throws Exception {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String sha = store.put(new ByteArrayInputStream("other".getBytes(StandardCharsets.UTF_8)));
        String git = "9f1b437537a2acdadafd3174f6f0af9c1a04f5e4";
        CodeCache cache = new CodeCache(tmp.resolve("cache/code"));
        assertThatThrownBy(() -> cache.fillFrom(List.of(new CodeFile("train.py", CodeFile.Kind.FILE, git, 12)), Map.of(git, sha), store))
                .hasMessageContaining("holds git blob").hasMessageContaining(git).hasMessageContaining("train.py");
        assertThat(tmp.resolve("cache/code/" + git)).doesNotExist();
    }
}
