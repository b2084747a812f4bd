package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.HostDiskFull;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.host.SpareFolders;
import dev.sortie.executor.remote.sync.CodeSync;
import dev.sortie.executor.remote.sync.SyncProgress;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A host whose remote_dir is on a full disk: a 16 MiB tmpfs in the host's own mount namespace (writes past it fail
 * with a real ENOSPC). Only the host's sessions see that file system, so everything is checked through SSH.
 */
@Tag("integration")
class HostDiskFullIntegrationTest {
    @Sshd(disk = "16m")
    private static SshdFixture host;
    private RemoteLayout layout;

    @BeforeEach
    void emptyDisk() throws Exception {
        layout = new RemoteLayout(host.hostDir() + "/it's a remote dir");
        try (SshConnection c = TransferFixture.connect(host)) {
            c.exec(List.of("sh", "-c", "rm -rf -- \"$1\"/*", "sh", host.hostDir().toString()), Duration.ofSeconds(30));
        }
    }

    private static List<CodeFile> files(byte[]... contents) throws Exception {
        List<CodeFile> out = new java.util.ArrayList<>();
        for (int i = 0; i < contents.length; i++) {
            out.add(new CodeFile("data/f" + i + ".bin", CodeFile.Kind.FILE, TransferFixture.gitBlobId(contents[i]), contents[i].length));
        }
        return out;
    }

    private static CodeSync.BlobOpener opener(byte[]... contents) throws Exception {
        java.util.Map<String, byte[]> byId = new java.util.HashMap<>();
        for (byte[] b : contents) {
            byId.put(TransferFixture.gitBlobId(b), b);
        }
        return id -> new ByteArrayInputStream(byId.get(id));
    }

    private static String sh(SshConnection c, String script, String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("sh", "-c", script, "sh"));
        argv.addAll(List.of(args));
        HostChannel.Result r = c.exec(argv, Duration.ofSeconds(30));
        assertThat(r.ok()).as(r.stderr()).isTrue();
        return r.stdout().strip();
    }

    @Test
    void codeThatDoesNotFitFailsWithHowMuchIsFreeAndLeavesNothingBehind() throws Exception {
        Random random = new Random(1);
        byte[] a = TransferFixture.random(random, 10 << 20);
        byte[] b = TransferFixture.random(random, 10 << 20);
        try (SshConnection c = TransferFixture.connect(host)) {
            List<CodeFile> both = files(a, b);
            CodeSync.BlobOpener open = opener(a, b);
            assertThatThrownBy(() -> SpareFolders.withRoom(c, layout,
                    () -> new CodeSync(c, layout).sync(both, open, SyncProgress.NONE)))
                    .isInstanceOf(HostDiskFull.class)
                    .hasMessageContaining("no space left on " + c.target().display())
                    .hasMessageContaining("2 code files (20.0 MiB)")
                    .hasMessageMatching("(?s).* which has [0-9.]+ (B|KiB|MiB) free.*")
                    .hasMessageContaining("'remote_dir:'")
                    .hasMessageNotContaining("tar:");
            // the upload's temp folder is gone and no blob is in the cache, whole or partial
            assertThat(sh(c, "find \"$1\" -type f | wc -l", layout.root())).isEqualTo("0");
            assertThat(sh(c, "find \"$1\" -name 'incoming-*' | wc -l", layout.root())).isEqualTo("0");
            // what fits still goes
            assertThat(new CodeSync(c, layout).sync(files(a), opener(a), SyncProgress.NONE).filesSent()).isEqualTo(1);
        }
    }

    @Test
    void spareWorkFoldersAreGivenUpWhenTheDiskIsFull() throws Exception {
        byte[] code = TransferFixture.random(new Random(2), 8 << 20);
        try (SshConnection c = TransferFixture.connect(host)) {
            // two finished runs' work folders an agent kept (12 MiB)
            sh(c, "mkdir -p \"$1/w-old1\" \"$1/w-old2\" && head -c 6291456 /dev/zero > \"$1/w-old1/out.bin\""
                    + " && head -c 6291456 /dev/zero > \"$1/w-old2/out.bin\"", layout.spare());

            List<CodeFile> list = files(code);
            CodeSync.BlobOpener open = opener(code);
            CodeSync.SyncResult r = SpareFolders.withRoom(c, layout, () -> new CodeSync(c, layout).sync(list, open, SyncProgress.NONE));

            assertThat(r.filesSent()).isEqualTo(1);
            assertThat(sh(c, "ls -A \"$1\"", layout.spare())).isEmpty();
            assertThat(sh(c, "wc -c < \"$1/$2\"", layout.codeCache(), TransferFixture.gitBlobId(code)))
                    .isEqualTo(Integer.toString(8 << 20));
        }
    }

    @Test
    void aFullDiskWithNothingToGiveUpIsReportedAsIs() throws Exception {
        try (SshConnection c = TransferFixture.connect(host)) {
            sh(c, "mkdir -p \"$1\" && (head -c 20000000 /dev/zero > \"$1/filler\" || true)", layout.root());
            byte[] code = TransferFixture.random(new Random(3), 1 << 20);
            List<CodeFile> list = files(code);
            CodeSync.BlobOpener open = opener(code);
            assertThatThrownBy(() -> SpareFolders.withRoom(c, layout, () -> new CodeSync(c, layout).sync(list, open, SyncProgress.NONE)))
                    .isInstanceOf(HostDiskFull.class)
                    .hasMessageContaining("which has 0 B free");
        }
    }
}
