package dev.sortie.executor.remote.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.store.LocalBlobStore;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreCodeTest {
    @TempDir
    Path tmp;

    @Test
    void theCodeGoesIntoTheStoreOnceAndAFileListPublishedBeforeCostsNoRead() throws Exception {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Map<String, String> content = Map.of("1111111111111111111111111111111111111111", "a", "2222222222222222222222222222222222222222", "b");
        AtomicInteger opened = new AtomicInteger();
        CodeSync.BlobOpener opener = id -> {
            opened.incrementAndGet();
            return new ByteArrayInputStream(content.get(id).getBytes(StandardCharsets.UTF_8));
        };
        List<CodeFile> files = List.of(new CodeFile("a.py", CodeFile.Kind.FILE, "1111111111111111111111111111111111111111", 1),
                new CodeFile("b.py", CodeFile.Kind.FILE, "2222222222222222222222222222222222222222", 1),
                new CodeFile("copy-of-a.py", CodeFile.Kind.FILE, "1111111111111111111111111111111111111111", 1));
        Map<String, String> map = StoreCode.publish(files, opener, store, tmp.resolve(".sortie"));
        assertThat(map).hasSize(2);
        assertThat(opened).hasValue(2); // one read per distinct blob
        assertThat(store.contains(map.get("1111111111111111111111111111111111111111"))).isTrue();
        assertThat(store.open(map.get("2222222222222222222222222222222222222222"))).hasContent("b");

        assertThat(StoreCode.publish(files, opener, store, tmp.resolve(".sortie"))).isEqualTo(map);
        assertThat(opened).as("remembered: nothing read or put again").hasValue(2);
    }
}
