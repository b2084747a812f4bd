package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.store.BlobStore;
import dev.sortie.store.LocalBlobStore;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's store in front of the shared one (two real local stores here; the S3 one is tested against moto). */
class WriteThroughStoreTest {
    @TempDir
    Path tmp;

    @Test
    void aSavedBlobIsInBothAndABlobOnlySharedIsFetchedOnceAndKept() throws Exception {
        LocalBlobStore host = new LocalBlobStore(tmp.resolve("host"));
        LocalBlobStore shared = new LocalBlobStore(tmp.resolve("shared"));
        BlobStore store = new WriteThroughStore(host, shared);
        Path f = Files.writeString(tmp.resolve("ckpt"), "epoch 3");
        String h = store.put(f);
        assertThat(host.contains(h)).isTrue();
        assertThat(shared.contains(h)).as("in the shared store before put returns").isTrue();

        String only = shared.put(new ByteArrayInputStream("from another instance".getBytes(StandardCharsets.UTF_8)));
        assertThat(host.contains(only)).isFalse();
        assertThat(store.contains(only)).isTrue();
        store.get(only, tmp.resolve("restored"));
        assertThat(Files.readString(tmp.resolve("restored"))).isEqualTo("from another instance");
        assertThat(host.contains(only)).as("kept on the host").isTrue();
    }

    @Test
    void withNoSharedStoreTheHostsOwnIsUsed() throws Exception {
        assertThat(NodeStore.open(tmp, null)).isInstanceOf(LocalBlobStore.class);
    }

    @Test
    void aStoreWhoseClientIsNotInstalledIsAnErrorNamingIt() {
        var spec = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("url", "s3://b/p");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NodeStore.open(tmp, spec))
                .hasMessageContaining("s3://b/p").hasMessageContaining("no client for 's3://'");
    }
}
