package dev.sortie.store.s3;

import dev.sortie.store.BlobHash;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by {@link S3LargeBlobTest} in a JVM with a heap far smaller than the blob: stores a file (multipart), reads it
 * back, and stores it again as a stream of unknown length. Args: URL EXPECTED_HASH FILE TARGET. The endpoint and the
 * credentials come from the environment, as the SDK reads them (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
 */
public final class LargeBlobMain {
    private LargeBlobMain() {
    }

    public static void main(String[] args) throws Exception {
        S3Location url = S3Location.parse(args[0]);
        String expected = args[1];
        Path file = Path.of(args[2]);
        Path target = Path.of(args[3]);
        S3StoreSettings settings = new S3StoreSettings(url, null, null, true, S3StoreSettings.DEFAULT_PART_SIZE);
        try (S3BlobStore store = S3BlobStore.open(settings)) {
            String h = store.put(file);
            check(h.equals(expected), "put(file) hashed " + h);
            store.get(h, target);
            check(BlobHash.of(target).equals(expected), "get wrote other bytes");
            S3StoreSettings other = new S3StoreSettings(S3Location.parse(args[0] + "-stream"), null, null, true, S3StoreSettings.DEFAULT_PART_SIZE);
            try (S3BlobStore streamed = S3BlobStore.open(other); InputStream in = Files.newInputStream(file)) {
                check(streamed.put(in).equals(expected), "put(stream) hashed otherwise");
            }
            System.out.println("OK endpoint=" + store.endpoint() + " maxHeap=" + Runtime.getRuntime().maxMemory());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
