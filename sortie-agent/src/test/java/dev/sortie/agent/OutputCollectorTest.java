package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.store.BlobStore;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving checkpoints while the run is still writing them. */
class OutputCollectorTest {
    @TempDir
    Path dir;

    /**
     * A store whose first copy happens while the run rewrites the file: the run has truncated it (Python's
     * {@code open(p, 'w')}) when the copy reads it, and writes the new content right after.
     */
    static final class RewrittenDuringCopy implements BlobStore {
        private final LocalBlobStore store;
        private final String newContent;
        private boolean rewritten;

        RewrittenDuringCopy(Path root, String newContent) {
            this.store = new LocalBlobStore(root);
            this.newContent = newContent;
        }

        @Override
        public String put(Path file) throws IOException {
            if (rewritten) {
                return store.put(file);
            }
            rewritten = true;
            Files.write(file, new byte[0]);
            String hash = store.put(file);
            Files.writeString(file, newContent);
            Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(1)));
            return hash;
        }

        @Override
        public String put(InputStream in) throws IOException {
            return store.put(in);
        }

        @Override
        public boolean contains(String hash) throws IOException {
            return store.contains(hash);
        }

        @Override
        public InputStream open(String hash) throws IOException {
            return store.open(hash);
        }

        @Override
        public void get(String hash, Path target) throws IOException {
            store.get(hash, target);
        }

        @Override
        public String location() {
            return store.location();
        }
    }

    @Test
    void aCheckpointRewrittenWhileItIsCopiedIsNotRecordedTorn() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Files.createDirectories(work.resolve("ckpt"));
        Files.writeString(work.resolve("ckpt/step"), "41");
        RewrittenDuringCopy store = new RewrittenDuringCopy(dir.resolve("store"), "42");
        OutputCollector collector = new OutputCollector(work, store);

        List<ArtifactRecord> saved = collector.save(ArtifactKind.CHECKPOINT, List.of("ckpt/"));

        assertThat(saved).singleElement().satisfies(r -> {
            assertThat(r.path()).isEqualTo("ckpt/step");
            assertThat(r.size()).isEqualTo(2);
            try (InputStream in = store.open(r.hash())) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("42");
            }
        });
        // Unchanged since: nothing to save again.
        assertThat(collector.save(ArtifactKind.CHECKPOINT, List.of("ckpt/"))).isEmpty();
    }

    @Test
    void aFileReplacedByRenameIsSavedAgain() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Files.writeString(work.resolve("model.pt"), "v1");
        OutputCollector collector = new OutputCollector(work, new LocalBlobStore(dir.resolve("store")));
        FileTime t = Files.getLastModifiedTime(work.resolve("model.pt"));
        assertThat(collector.save(ArtifactKind.CHECKPOINT, List.of("model.pt"))).hasSize(1);

        // Same size and same time, but another file (tmp + rename, as careful training scripts write).
        Path tmp = work.resolve("model.pt.tmp");
        Files.writeString(tmp, "v2");
        Files.setLastModifiedTime(tmp, t);
        Files.move(tmp, work.resolve("model.pt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);

        assertThat(collector.save(ArtifactKind.CHECKPOINT, List.of("model.pt"))).singleElement()
                .extracting(ArtifactRecord::size).isEqualTo(2L);
    }
}
