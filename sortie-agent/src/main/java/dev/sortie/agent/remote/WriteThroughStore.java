package dev.sortie.agent.remote;

import dev.sortie.core.store.BlobStore;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * The host's own store in front of a shared one (the project's bucket): every blob a run saves goes to both before
 * the save is reported (so a journal's saved record means "in the bucket"), skipping what the shared store has
 * already (content-addressed: one copy for every instance); a blob the host lacks is read from the shared store once
 * and kept. Reads never go back the other way: restored checkpoints are not written to the bucket again.
 */
final class WriteThroughStore implements BlobStore {
    private final LocalBlobStore local;
    private final BlobStore shared;

    WriteThroughStore(LocalBlobStore local, BlobStore shared) {
        this.local = local;
        this.shared = shared;
    }

    @Override
    public String put(Path file) throws IOException {
        String hash = local.put(file);
        share(hash);
        return hash;
    }

    @Override
    public String put(InputStream in) throws IOException {
        String hash = local.put(in);
        share(hash);
        return hash;
    }

    private void share(String hash) throws IOException {
        if (!shared.contains(hash)) {
            // from the host's copy, which stays as it is (the run's own file may change meanwhile), as a file: a large
            // checkpoint goes up in parts read from it, never whole in memory nor copied to a temp file first
            shared.put(local.file(hash));
        }
    }

    @Override
    public boolean contains(String hash) throws IOException {
        return local.contains(hash) || shared.contains(hash);
    }

    @Override
    public InputStream open(String hash) throws IOException {
        fetch(hash);
        return local.open(hash);
    }

    @Override
    public void get(String hash, Path target) throws IOException {
        fetch(hash);
        local.get(hash, target);
    }

    @Override
    public long size(String hash) throws IOException {
        return local.contains(hash) ? local.size(hash) : shared.size(hash);
    }

    /** Copies a blob of the shared store into the host's (checked against its name by the shared store's read). */
    private void fetch(String hash) throws IOException {
        if (!local.contains(hash)) {
            try (InputStream in = shared.open(hash)) {
                String got = local.put(in);
                if (!got.equals(hash)) {
                    throw new IOException("blob " + hash + " read from " + shared.location() + " hashes to " + got);
                }
            }
        }
    }

    @Override
    public String location() {
        return shared.location();
    }
}
