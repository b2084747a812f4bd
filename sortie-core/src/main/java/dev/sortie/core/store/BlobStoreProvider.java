package dev.sortie.core.store;

import java.io.IOException;
import java.util.List;

/**
 * Opens stores of one URL scheme ({@code s3}). Found with {@link java.util.ServiceLoader} through
 * {@code META-INF/services/dev.sortie.core.store.BlobStoreProvider}, so a store's client library is loaded only by a
 * project that configures that store. Implementations keep their library's classes out of {@link #validate}: every
 * command checks the config, few open the store.
 */
public interface BlobStoreProvider {

    /** The URL scheme this provider handles, lower case, e.g. "s3". */
    String scheme();

    /** The settings of the mapping form besides {@code url}, for messages. */
    default List<String> options() {
        return List.of();
    }

    /** Checks the spec without reaching the store: a {@link dev.sortie.core.config.ConfigException} naming the field. */
    void validate(StoreSpec spec);

    /**
     * Opens the store and checks that it answers (a bucket that exists and lets us in), so a run does not find out at
     * its end. An IOException names the store and its endpoint, never a credential.
     */
    BlobStore open(StoreSpec spec) throws IOException;
}
