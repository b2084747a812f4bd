package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.sync.StoreTransfer;
import dev.sortie.executor.remote.sync.SyncProgress;
import dev.sortie.store.BlobNotFoundException;
import dev.sortie.store.LocalBlobStore;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Store blobs up to and down from a real OpenSSH sshd on loopback (the host's store is on this machine). */
@Tag("integration")
class StoreTransferIntegrationTest {
    @Sshd
    private static SshdFixture sshd;
    private final Random random = new Random(7);
    private RemoteLayout layout;
    private LocalBlobStore here;
    private final Map<String, byte[]> blobs = new LinkedHashMap<>();

    @BeforeEach
    void stores() throws Exception {
        layout = TransferFixture.layout(sshd);
        here = new LocalBlobStore(Files.createTempDirectory(sshd.dir, "local-store"));
        for (int size : new int[] {0, 1, 511, 512, 513, 70_000, 3 << 20}) {
            byte[] b = TransferFixture.random(random, size);
            String h = here.put(new ByteArrayInputStream(b));
            assertThat(h).isEqualTo(TransferFixture.sha256(b));
            blobs.put(h, b);
        }
    }

    private Path remoteBlob(String h) {
        return Path.of(layout.store(), "objects", h.substring(0, 2), h.substring(2));
    }

    @Test
    void uploadThenDownloadRoundTripsEveryByte() throws Exception {
        List<String> hashes = new ArrayList<>(blobs.keySet());
        long bytes = blobs.values().stream().mapToLong(b -> b.length).sum();
        try (SshConnection c = TransferFixture.connect(sshd)) {
            assertThat(StoreTransfer.upload(c, layout, here, hashes)).isEqualTo(new StoreTransfer.Result(7, 7, bytes));
            for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
                assertThat(remoteBlob(e.getKey())).hasBinaryContent(e.getValue());
            }
            assertThat(StoreTransfer.upload(c, layout, here, hashes)).as("again: the host has them all")
                    .isEqualTo(new StoreTransfer.Result(7, 0, 0));

            LocalBlobStore there = new LocalBlobStore(Files.createTempDirectory(sshd.dir, "other-store"));
            there.put(new ByteArrayInputStream(blobs.get(hashes.get(1)))); // one it has already
            List<long[]> calls = new ArrayList<>();
            StoreTransfer.Result down = StoreTransfer.download(c, layout, there, hashes,
                    (f, ft, b, bt) -> calls.add(new long[] {f, ft, b, bt}));
            assertThat(down).isEqualTo(new StoreTransfer.Result(7, 6, bytes - blobs.get(hashes.get(1)).length));
            for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
                try (InputStream in = there.open(e.getKey())) {
                    assertThat(in.readAllBytes()).isEqualTo(e.getValue());
                }
            }
            assertThat(calls.get(calls.size() - 1)[0]).isEqualTo(6);
            assertThat(StoreTransfer.download(c, layout, there, hashes)).isEqualTo(new StoreTransfer.Result(7, 0, 0));
        }
        try (var s = Files.list(Path.of(layout.store(), "tmp"))) {
            assertThat(s.toList()).as("no temp folder left").isEmpty();
        }
    }

    @Test
    void aCorruptBlobOnTheHostIsRefusedByName() throws Exception {
        List<String> hashes = new ArrayList<>(blobs.keySet());
        String victim = hashes.get(5);
        try (SshConnection c = TransferFixture.connect(sshd)) {
            StoreTransfer.upload(c, layout, here, hashes);
            Path p = remoteBlob(victim);
            p.toFile().setWritable(true);
            Files.write(p, "bit rot".getBytes());
            LocalBlobStore there = new LocalBlobStore(Files.createTempDirectory(sshd.dir, "other-store"));
            assertThatThrownBy(() -> StoreTransfer.download(c, layout, there, hashes))
                    .hasMessageContaining("blob " + victim).hasMessageContaining("corrupt")
                    .hasMessageContaining(c.target().display());
            assertThat(there.contains(victim)).isFalse();
        }
    }

    @Test
    void aBlobTheHostLacksIsNamedAndTheOthersAreStillFetched() throws Exception {
        List<String> hashes = new ArrayList<>(blobs.keySet());
        String absent = "ab".repeat(32);
        try (SshConnection c = TransferFixture.connect(sshd)) {
            LocalBlobStore there = new LocalBlobStore(Files.createTempDirectory(sshd.dir, "other-store"));
            // no store on the host at all
            assertThatThrownBy(() -> StoreTransfer.download(c, layout, there, List.of(absent)))
                    .hasMessageContaining("lacks 1 of the 1 blob(s)").hasMessageContaining(absent);
            StoreTransfer.upload(c, layout, here, hashes);
            List<String> asked = new ArrayList<>(hashes);
            asked.add(absent);
            assertThatThrownBy(() -> StoreTransfer.download(c, layout, there, asked))
                    .hasMessageContaining("lacks 1 of the 8 blob(s)").hasMessageContaining(absent);
            for (String h : hashes) {
                assertThat(there.contains(h)).isTrue();
            }
        }
    }

    @Test
    void uploadingABlobTheLocalStoreLacksSaysWhich() throws Exception {
        String absent = "cd".repeat(32);
        try (SshConnection c = TransferFixture.connect(sshd)) {
            assertThatThrownBy(() -> StoreTransfer.upload(c, layout, here, List.of(absent)))
                    .isInstanceOf(BlobNotFoundException.class).hasMessageContaining(absent);
        }
    }

    @Test
    void manyBlobsGoInOneStreamEachWayAndDownloadsInBatches() throws Exception {
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < 250; i++) { // every local put is fsynced: a few hundred keep the test quick
            hashes.add(here.put(new ByteArrayInputStream(TransferFixture.random(random, 100 + i))));
        }
        try (SshConnection c = TransferFixture.connect(sshd)) {
            assertThat(StoreTransfer.upload(c, layout, here, hashes).transferred()).isEqualTo(250);
            LocalBlobStore there = new LocalBlobStore(Files.createTempDirectory(sshd.dir, "other-store"));
            assertThat(StoreTransfer.download(c, layout, there, hashes, SyncProgress.NONE, 100).transferred()).isEqualTo(250);
            for (String h : hashes) {
                assertThat(there.contains(h)).isTrue();
            }
        }
    }

    @Test
    void hashesAreCheckedBeforeTheyBecomePaths() throws Exception {
        try (SshConnection c = TransferFixture.connect(sshd)) {
            assertThatThrownBy(() -> StoreTransfer.upload(c, layout, here, List.of("../../etc/passwd")))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> StoreTransfer.download(c, layout, here, List.of("$(reboot)")))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
