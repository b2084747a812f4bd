package dev.sortie.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

class ManifestsTest {
    @TempDir
    Path tmp;

    @Test
    void storesAFolderRelativeToItsBaseAndRestoresIt() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Path work = tmp.resolve("work");
        TestRepos.write(work, "ckpt/step-1/model.bin", "weights-1");
        TestRepos.write(work, "ckpt/step-2/model.bin", "weights-2");
        TestRepos.write(work, "ckpt/latest.txt", "step-2");
        TestRepos.write(work, "other.txt", "not saved");

        List<ManifestEntry> entries = Manifests.store(store, work, Path.of("ckpt"));

        assertThat(entries).extracting(ManifestEntry::path, ManifestEntry::size).containsExactly(
                tuple("ckpt/latest.txt", 6L), tuple("ckpt/step-1/model.bin", 9L), tuple("ckpt/step-2/model.bin", 9L));
        Path elsewhere = tmp.resolve("elsewhere");
        Manifests.restore(store, entries, elsewhere);
        assertThat(TestRepos.disk(elsewhere)).containsExactly(
                java.util.Map.entry("ckpt/latest.txt", "step-2"),
                java.util.Map.entry("ckpt/step-1/model.bin", "weights-1"),
                java.util.Map.entry("ckpt/step-2/model.bin", "weights-2"));
    }

    @Test
    void storesASingleFile() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Path work = tmp.resolve("work");
        Path f = TestRepos.write(work, "out/metrics.json", "{}");

        List<ManifestEntry> entries = Manifests.store(store, work, f);

        assertThat(entries).singleElement().satisfies(e -> {
            assertThat(e.path()).isEqualTo("out/metrics.json");
            assertThat(e.hash()).isEqualTo(store.put(f));
        });
    }

    @Test
    void followsLinksInsideTheBaseOnlyAndSurvivesLoopsAndDanglingLinks() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Path work = tmp.resolve("work");
        TestRepos.write(work, "data/real.txt", "real");
        Path outside = TestRepos.write(tmp, "outside/secret.txt", "secret");
        Files.createSymbolicLink(work.resolve("data/inside-link.txt"), work.resolve("data/real.txt"));
        Files.createSymbolicLink(work.resolve("data/outside-link.txt"), outside);
        Files.createSymbolicLink(work.resolve("data/outside-dir"), outside.getParent());
        Files.createSymbolicLink(work.resolve("data/loop"), work.resolve("data"));
        Files.createSymbolicLink(work.resolve("data/dangling"), work.resolve("nowhere"));

        List<ManifestEntry> entries = Manifests.store(store, work, Path.of("data"));

        assertThat(entries).extracting(ManifestEntry::path).containsExactly("data/inside-link.txt", "data/real.txt");
    }

    @Test
    void refusesPathsOutsideBaseAndHostileEntries() throws IOException {
        LocalBlobStore store = new LocalBlobStore(tmp.resolve("store"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        String hash = store.put(Files.writeString(tmp.resolve("x"), "x"));

        assertThatThrownBy(() -> Manifests.store(store, work, Path.of("../x"))).isInstanceOf(IllegalArgumentException.class);
        for (String bad : List.of("../evil", "/etc/passwd", "a/../../evil", "a//b", "", "a\\b", "C:/x")) {
            assertThatThrownBy(() -> new ManifestEntry(bad, hash, 1)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new ManifestEntry("ok", "../../etc/passwd", 1)).isInstanceOf(IllegalArgumentException.class);

        // A link already in the target cannot carry a restore outside it.
        Path target = Files.createDirectories(tmp.resolve("target"));
        Path away = Files.createDirectories(tmp.resolve("away"));
        Files.createSymbolicLink(target.resolve("sub"), away);
        assertThatThrownBy(() -> Manifests.restore(store, List.of(new ManifestEntry("sub/f", hash, 1)), target))
                .isInstanceOf(IOException.class).hasMessageContaining("outside");
        assertThat(away.resolve("f")).doesNotExist();
    }
}
