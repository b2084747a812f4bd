package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.sync.CodeSync;
import dev.sortie.executor.remote.sync.RemoteFiles;
import dev.sortie.executor.remote.sync.SyncProgress;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Code sync against a real OpenSSH sshd on loopback; the "remote" folder is on this machine, so it is checked directly. */
@Tag("integration")
class CodeSyncIntegrationTest {
    @Sshd
    private static SshdFixture sshd;
    private final Random random = new Random(42);
    private RemoteLayout layout;
    private Path cache;

    @BeforeEach
    void freshRemoteDir() throws Exception {
        layout = TransferFixture.layout(sshd);
        cache = Path.of(layout.codeCache());
    }

    /** A code tree: path to content, and the blobs by id for the opener. */
    private static final class Tree {
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final Map<String, byte[]> blobs = new LinkedHashMap<>();
        final AtomicInteger opens = new AtomicInteger();

        void put(String path, byte[] content) throws Exception {
            files.put(path, content);
            blobs.put(TransferFixture.gitBlobId(content), content);
        }

        List<CodeFile> list() throws Exception {
            List<CodeFile> out = new ArrayList<>();
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                out.add(new CodeFile(e.getKey(), CodeFile.Kind.FILE, TransferFixture.gitBlobId(e.getValue()), e.getValue().length));
            }
            return out;
        }

        InputStream open(String id) {
            opens.incrementAndGet();
            return new ByteArrayInputStream(blobs.get(id));
        }
    }

    private Tree tree(int n, int size) throws Exception {
        Tree t = new Tree();
        for (int i = 0; i < n; i++) {
            t.put("src/f" + i + ".py", TransferFixture.random(random, size + i));
        }
        t.put("copy/of/f0.py", t.files.get("src/f0.py")); // same content twice: one blob
        t.put("empty.txt", new byte[0]);
        return t;
    }

    private void assertCacheHolds(Tree t) throws Exception {
        for (Map.Entry<String, byte[]> e : t.blobs.entrySet()) {
            Path p = cache.resolve(e.getKey());
            assertThat(p).as(e.getKey()).isRegularFile();
            assertThat(Files.readAllBytes(p)).as(e.getKey()).isEqualTo(e.getValue());
            assertThat(Files.isWritable(p) && !isRoot()).as("cache files are read-only").isFalse();
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Test
    void firstSyncSendsEverythingOnceAndTheSecondSendsNothing() throws Exception {
        Tree t = tree(40, 3000);
        List<long[]> calls = new ArrayList<>();
        try (SshConnection c = TransferFixture.connect(sshd)) {
            CodeSync sync = new CodeSync(c, layout);
            CodeSync.SyncResult first = sync.sync(t.list(), t::open, (f, ft, b, bt) -> calls.add(new long[] {f, ft, b, bt}));
            long bytes = t.blobs.values().stream().mapToLong(b -> b.length).sum();
            assertThat(first).isEqualTo(new CodeSync.SyncResult(41, bytes, 41, bytes, false));
            assertThat(t.opens).hasValue(41);
            assertCacheHolds(t);
            assertThat(calls.get(0)).containsExactly(0, 41, 0, bytes);
            assertThat(calls.get(calls.size() - 1)).containsExactly(41, 41, bytes, bytes);

            CodeSync.SyncResult second = sync.sync(t.list(), t::open, (f, ft, b, bt) -> calls.add(null));
            assertThat(second).isEqualTo(new CodeSync.SyncResult(41, bytes, 0, 0, true));
            assertThat(t.opens).hasValue(41);
        }
        assertThat(Path.of(layout.treeMarkers())).isDirectoryContaining(p -> true);
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void aChangedFileSendsOnlyItsNewBlob() throws Exception {
        Tree t = tree(30, 2000);
        try (SshConnection c = TransferFixture.connect(sshd)) {
            CodeSync sync = new CodeSync(c, layout);
            sync.sync(t.list(), t::open, SyncProgress.NONE);
            byte[] changed = "print('changed')\n".getBytes();
            t.put("src/f7.py", changed);
            t.opens.set(0);
            CodeSync.SyncResult r = sync.sync(t.list(), t::open, SyncProgress.NONE);
            assertThat(r.upToDate()).isFalse();
            assertThat(r.filesSent()).isEqualTo(1);
            assertThat(r.bytesSent()).isEqualTo(changed.length);
            assertThat(t.opens).hasValue(1);
            assertThat(cache.resolve(TransferFixture.gitBlobId(changed))).hasBinaryContent(changed);
            // that list is now marked too
            assertThat(sync.sync(t.list(), t::open, SyncProgress.NONE).upToDate()).isTrue();
        }
    }

    @Test
    void aListWhoseBlobsAreAllThereIsMarkedWithoutSendingAnything() throws Exception {
        Tree t = tree(10, 100);
        try (SshConnection c = TransferFixture.connect(sshd)) {
            CodeSync sync = new CodeSync(c, layout);
            sync.sync(t.list(), t::open, SyncProgress.NONE);
            List<CodeFile> fewer = t.list().subList(0, 5); // a file removed: a new list, no new blob
            t.opens.set(0);
            assertThat(sync.sync(fewer, t::open, SyncProgress.NONE)).satisfies(r -> {
                assertThat(r.upToDate()).isFalse();
                assertThat(r.filesSent()).isZero();
            });
            assertThat(sync.sync(fewer, t::open, SyncProgress.NONE).upToDate()).isTrue();
            assertThat(t.opens).hasValue(0);
        }
    }

    @Test
    void aConnectionClosedMidUploadLeavesNoPartialBlobAndTheNextSyncCompletes() throws Exception {
        Tree t = tree(40, 3 << 20); // ~120 MiB
        AtomicBoolean killed = new AtomicBoolean();
        try (SshConnection c = TransferFixture.connect(sshd)) {
            AtomicInteger n = new AtomicInteger();
            CodeSync.BlobOpener opener = id -> {
                if (n.incrementAndGet() == 8 && killed.compareAndSet(false, true)) {
                    Thread killer = new Thread(c::close); // as a Ctrl-C or a dying laptop would, from elsewhere
                    killer.start();
                }
                return t.open(id);
            };
            assertThatThrownBy(() -> new CodeSync(c, layout).sync(t.list(), opener, SyncProgress.NONE))
                    .isInstanceOfSatisfying(SshConnectionException.class,
                            e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.DISCONNECTED))
                    .hasMessageContaining("lost the connection to " + c.target().display());
        }
        assertThat(killed).isTrue();
        awaitNoLeftovers();
        try (Stream<Path> s = Files.list(cache)) {
            assertThat(s.toList()).as("nothing of a cut stream is moved into the cache").isEmpty();
        }
        assertThat(Path.of(layout.treeMarkers())).doesNotExist();

        try (SshConnection c = TransferFixture.connect(sshd)) {
            CodeSync.SyncResult r = new CodeSync(c, layout).sync(t.list(), t::open, SyncProgress.NONE);
            assertThat(r.filesSent()).isEqualTo(t.blobs.size());
        }
        assertCacheHolds(t);
    }

    @Test
    void aLocalReadErrorAbortsTheStreamAndNothingOfItIsKept() throws Exception {
        Tree t = tree(20, 50_000);
        AtomicInteger n = new AtomicInteger();
        try (SshConnection c = TransferFixture.connect(sshd)) {
            CodeSync.BlobOpener opener = id -> {
                if (n.incrementAndGet() == 15) {
                    return new InputStream() { // fails half-way through a blob
                        int left = 1000;

                        @Override
                        public int read() throws IOException {
                            if (left-- <= 0) {
                                throw new IOException("disk read error (test)");
                            }
                            return 'x';
                        }
                    };
                }
                return t.open(id);
            };
            assertThatThrownBy(() -> new CodeSync(c, layout).sync(t.list(), opener, SyncProgress.NONE))
                    .isInstanceOf(IOException.class).hasMessage("disk read error (test)");
            awaitNoLeftovers();
            try (Stream<Path> s = Files.list(cache)) {
                assertThat(s.toList()).as("the 14 blobs sent before the error are not kept either").isEmpty();
            }
            // the connection is still good, and the next sync sends everything
            assertThat(new CodeSync(c, layout).sync(t.list(), t::open, SyncProgress.NONE).filesSent()).isEqualTo(t.blobs.size());
        }
        assertCacheHolds(t);
    }

    @Test
    void aStreamWithoutItsCompletionEntryIsNotTakenAsComplete() throws Exception {
        // a tar that ends cleanly at an entry boundary, as a cut connection can leave it: valid, but not complete
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] content = "complete file, incomplete stream".getBytes();
        String id = TransferFixture.gitBlobId(content);
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry e = new TarArchiveEntry(id);
            e.setSize(content.length);
            tar.putArchiveEntry(e);
            tar.write(content);
            tar.closeArchiveEntry();
        }
        try (SshConnection c = TransferFixture.connect(sshd)) {
            HostChannel.Result r = c.exec(List.of("sh", "-c", RemoteFiles.UPLOAD, "test", RemoteFiles.incoming(layout.root() + "/cache/tmp"),
                    layout.codeCache(), ""), new ByteArrayInputStream(bytes.toByteArray()), OutputStream.nullOutputStream(), Duration.ofSeconds(30));
            assertThat(r.exitCode()).isNotZero();
            assertThat(r.stderr()).contains("cut short");
        }
        assertThat(cache.resolve(id)).doesNotExist();
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void badBlobIdsAreRefusedBeforeAnythingReachesTheHost() throws Exception {
        try (SshConnection c = TransferFixture.connect(sshd)) {
            List<CodeFile> evil = List.of(new CodeFile("x", CodeFile.Kind.FILE, "../../etc/passwd", 1));
            assertThatThrownBy(() -> new CodeSync(c, layout).sync(evil, id -> InputStream.nullInputStream(), SyncProgress.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a git blob id");
        }
        assertThat(Path.of(layout.root())).doesNotExist();
    }

    @Test
    void treeIdsDependOnTheSetOfBlobsOnly() {
        String a = "a".repeat(40);
        String b = "b".repeat(40);
        assertThat(CodeSync.treeId(List.of(a, b, a))).isEqualTo(CodeSync.treeId(List.of(b, a))).hasSize(64);
        assertThat(CodeSync.treeId(List.of(a))).isNotEqualTo(CodeSync.treeId(List.of(a, b)));
    }

    private List<Path> leftovers() throws IOException {
        Path tmp = Path.of(layout.root(), "cache", "tmp");
        if (!Files.isDirectory(tmp)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(tmp)) {
            return s.toList();
        }
    }

    /** The host's shell cleans up after a cut stream on its own time; give it a moment. */
    private void awaitNoLeftovers() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!leftovers().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }

        assertThat(leftovers()).isEmpty();
    }
}
