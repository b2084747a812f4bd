package dev.sortie.cli;

import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The project's store, opened on its first use: executors are built for most commands, and most never touch a blob,
 * so a store that costs a client and a round trip to open (S3) is not opened for them.
 */
final class LazyBlobStore implements BlobStore {
    private final Supplier<BlobStore> open;

    LazyBlobStore(Supplier<BlobStore> open) {
        this.open = open;
    }

    /** The store; a failure to open it is the IOException it was (an unreachable bucket), as callers expect. */
    private BlobStore store() throws IOException {
        try {
            return open.get();
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public String put(Path file) throws IOException {
        return store().put(file);
    }

    @Override
    public String put(InputStream in) throws IOException {
        return store().put(in);
    }

    @Override
    public boolean contains(String hash) throws IOException {
        return store().contains(hash);
    }

    @Override
    public InputStream open(String hash) throws IOException {
        return store().open(hash);
    }

    @Override
    public void get(String hash, Path target) throws IOException {
        store().get(hash, target);
    }

    @Override
    public long size(String hash) throws IOException {
        return store().size(hash);
    }

    @Override
    public String location() {
        return open.get().location();
    }

    @Override
    public java.util.Optional<dev.sortie.core.store.StoreSpec> nodeSpec() {
        try {
            return open.get().nodeSpec(); // asked by a launch, which opens the store anyway
        } catch (java.io.UncheckedIOException e) {
            // the store does not answer: nodes keep outputs in their own store, and the run's own use of it says why
            System.getLogger(LazyBlobStore.class.getName()).log(System.Logger.Level.DEBUG, "the store is not opened for nodes: {0}", e.getMessage());
            return java.util.Optional.empty();
        }
    }
}
