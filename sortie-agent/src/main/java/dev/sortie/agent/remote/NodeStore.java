package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.store.BlobStoreProvider;
import dev.sortie.core.store.StoreSpec;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * The store a run on this host saves into and restores from: the host's own ({@code <root>/store}), which the
 * launching side fills and empties over its channel; or, when the run names the project's store (an S3 bucket that an
 * instance reaches with its instance profile), the host's own in front of that one ({@link WriteThroughStore}), so
 * checkpoints land in the bucket as they are saved, with no laptop in between.
 *
 * <p>The shared store's client is found through {@link BlobStoreProvider}'s ServiceLoader, from the extra jars that
 * are installed on the host only for such runs (the agent alone does not carry the S3 SDK).
 */
public final class NodeStore {
    private NodeStore() {
    }

    /** The run's code in the store: git blob id to SHA-256 ({@code spec.code}); empty when the code came over SSH. */
    public static java.util.Map<String, String> code(JsonNode spec) {
        java.util.Map<String, String> m = new java.util.HashMap<>();
        if (spec != null) {
            spec.path("code").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        }
        return m;
    }

    /**
     * @param spec {@code {"url": .., "options": {..}}} or null
     * @throws IOException naming the store when its client is not installed or the store does not answer
     */
    public static BlobStore open(Path root, JsonNode spec) throws IOException {
        LocalBlobStore local = new LocalBlobStore(root.resolve("store"));
        if (spec == null) {
            return local;
        }
        String url = spec.path("url").asText();
        JsonNode options = spec.path("options").isObject() ? spec.get("options") : JsonNodeFactory.instance.objectNode();
        StoreSpec s = new StoreSpec(url, options, null, "store");
        for (BlobStoreProvider p : ServiceLoader.load(BlobStoreProvider.class, NodeStore.class.getClassLoader())) {
            if (p.scheme().equals(s.scheme())) {
                return new WriteThroughStore(local, p.open(s));
            }
        }
        throw new IOException("the project's store " + url + " cannot be opened on this host: no client for '" + s.scheme()
                + "://' is installed with the agent (sortie sends it with the agent for runs that need it)");
    }
}
