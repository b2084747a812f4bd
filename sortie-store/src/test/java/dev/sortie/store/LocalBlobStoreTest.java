package dev.sortie.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalBlobStoreTest {
    // sha256("hello\n")
    private static final String HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    @TempDir
    Path tmp;

    @Test
    void putStoresUnderSha256WithFanOutAndGetRoundTrips() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Path src = Files.writeString(tmp.resolve("a.txt"), "hello\n");

        String hash = store.put(src);

        assertThat(hash).isEqualTo(HELLO);
        assertThat(tmp.resolve("store/objects/58/91b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"))
                .hasContent("hello\n");
        assertThat(store.contains(hash)).isTrue();
        Path out = tmp.resolve("restored/deep/a.txt");
        store.get(hash, out);
        assertThat(out).hasContent("hello\n");
        try (InputStream in = store.open(hash)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello\n");
        }
        assertThat(store.location()).startsWith("file:").contains("store");
    }

    @Test
    void sizeIsTheBlobsLengthWithoutReadingIt() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String hash = store.put(new ByteArrayInputStream(new byte[12345]));
        assertThat(store.size(hash)).isEqualTo(12345);
        String absent = "0".repeat(64);
        assertThatThrownBy(() -> store.size(absent)).isInstanceOf(BlobNotFoundException.class).hasMessageContaining(absent);
    }

    @Test
    void sameContentIsStoredOnce() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String a = store.put(Files.writeString(tmp.resolve("a"), "same"));
        String b = store.put(Files.writeString(tmp.resolve("b"), "same"));
        String c = store.put(new ByteArrayInputStream("same".getBytes(StandardCharsets.UTF_8)));

        assertThat(a).isEqualTo(b).isEqualTo(c);
        assertThat(objectFiles(store)).hasSize(1);
        assertThat(tempFiles(store)).isEmpty();
    }

    @Test
    void emptyAndLargeFilesRoundTrip() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        byte[] big = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(big);
        String empty = store.put(Files.write(tmp.resolve("empty"), new byte[0]));
        String large = store.put(Files.write(tmp.resolve("big"), big));

        assertThat(empty).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        store.get(large, tmp.resolve("big.out"));
        assertThat(Files.readAllBytes(tmp.resolve("big.out"))).isEqualTo(big);
    }

    @Test
    void getReplacesTargetWholeAndLeavesNoTempFiles() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String hash = store.put(Files.writeString(tmp.resolve("a"), "new content"));
        Path target = TestRepos.write(tmp, "out/target.bin", "old content that is longer than the new one");

        store.get(hash, target);

        assertThat(target).hasContent("new content");
        try (Stream<Path> s = Files.list(target.getParent())) {
            assertThat(s).containsExactly(target);
        }
    }

    @Test
    void missingBlobNamesHashAndStore() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String absent = "a".repeat(64);

        assertThat(store.contains(absent)).isFalse();
        assertThatThrownBy(() -> store.open(absent))
                .isInstanceOf(BlobNotFoundException.class)
                .hasMessageContaining(absent)
                .hasMessageContaining(store.location());
        assertThatThrownBy(() -> store.get(absent, tmp.resolve("x")))
                .isInstanceOf(BlobNotFoundException.class)
                .hasMessageContaining(absent);
        assertThat(tmp.resolve("x")).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void hostileHashesNeverBecomePaths() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Files.writeString(tmp.resolve("secret"), "secret");
        List<String> hostile = List.of("../../etc/passwd", "../secret", "", "abc",
                "../" + "a".repeat(61), "a".repeat(63) + "/", "g".repeat(64), "a".repeat(65), "/" + "a".repeat(63));
        for (String h : hostile) {
            assertThatThrownBy(() -> store.open(h)).as(h).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a blob hash");
            assertThatThrownBy(() -> store.contains(h)).as(h).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.get(h, tmp.resolve("out"))).as(h).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> store.open(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void uppercaseHashIsTheSameBlob() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        store.put(Files.writeString(tmp.resolve("a"), "hello\n"));
        assertThat(store.contains(HELLO.toUpperCase())).isTrue();
    }

    @Test
    void corruptBlobIsDetectedOnGetAndTargetIsKept() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        String hash = store.put(Files.writeString(tmp.resolve("a"), "hello\n"));
        Files.writeString(store.blobPath(hash), "tampered");
        Path target = Files.writeString(tmp.resolve("target"), "previous");

        assertThatThrownBy(() -> store.get(hash, target)).isInstanceOf(IOException.class).hasMessageContaining("corrupt");
        assertThat(target).hasContent("previous");
    }

    @Test
    void vanishedSourceGivesNoSuchFileAndLeavesNothing() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        assertThatThrownBy(() -> store.put(tmp.resolve("nope"))).isInstanceOf(NoSuchFileException.class);
        assertThat(tempFiles(store)).isEmpty();
    }

    @Test
    void concurrentPutsFromThreadsAgreeAndLeaveWholeBlobs() throws Exception {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        byte[] shared = new byte[2 * 1024 * 1024];
        new Random(7).nextBytes(shared);
        Path sharedFile = Files.write(tmp.resolve("shared"), shared);
        int threads = 8;
        List<Path> own = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            own.add(Files.writeString(tmp.resolve("own" + i), "content " + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int n = i;
                // A separate instance per thread, as separate processes would have.
                LocalBlobStore mine = new LocalBlobStore(tmp.resolve("store"));
                results.add(pool.submit(() -> {
                    start.await();
                    List<String> hashes = new ArrayList<>();
                    for (int round = 0; round < 5; round++) {
                        hashes.add(mine.put(sharedFile));
                        hashes.add(mine.put(own.get(n)));
                    }
                    return hashes;
                }));
            }
            start.countDown();
            Set<String> all = new HashSet<>();
            for (Future<List<String>> f : results) {
                all.addAll(f.get());
            }
            assertThat(all).hasSize(threads + 1);
        } finally {
            pool.shutdownNow();
        }
        assertThat(objectFiles(store)).hasSize(threads + 1);
        assertThat(tempFiles(store)).isEmpty();
        store.get(store.put(sharedFile), tmp.resolve("check"));
        assertThat(Files.readAllBytes(tmp.resolve("check"))).isEqualTo(shared);
    }

    private static List<Path> objectFiles(LocalBlobStore store) throws IOException {
        try (Stream<Path> s = Files.walk(store.root().resolve("objects"))) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    private static List<Path> tempFiles(LocalBlobStore store) throws IOException {
        Path dir = store.root().resolve("tmp");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
