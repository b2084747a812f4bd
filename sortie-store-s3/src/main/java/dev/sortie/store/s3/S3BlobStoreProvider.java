package dev.sortie.store.s3;

import dev.sortie.core.store.BlobStore;
import dev.sortie.core.store.BlobStoreProvider;
import dev.sortie.core.store.StoreSpec;
import java.io.IOException;
import java.util.List;

/** {@code store: s3://bucket/prefix}: the store in an S3 bucket. Loads the AWS SDK only in {@link #open}. */
public final class S3BlobStoreProvider implements BlobStoreProvider {
    @Override
    public String scheme() {
        return "s3";
    }

    @Override
    public List<String> options() {
        return S3StoreSettings.OPTIONS;
    }

    @Override
    public void validate(StoreSpec spec) {
        S3StoreSettings.from(spec);
    }

    @Override
    public BlobStore open(StoreSpec spec) throws IOException {
        return S3BlobStore.open(S3StoreSettings.from(spec));
    }
}
