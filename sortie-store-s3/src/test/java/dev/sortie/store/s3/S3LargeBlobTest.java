package dev.sortie.store.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.store.BlobHash;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A 100 MB blob through the S3 store in a JVM whose heap is 48 MB: it can only pass if the blob is streamed (multipart
 * upload from the file part by part, download straight to disk), never held whole. Against moto in server mode.
 */
@Tag("integration")
class S3LargeBlobTest {
    static final long SIZE = 100L << 20;
    static MotoS3 moto;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startMoto() throws Exception {
        moto = MotoS3.start();
    }

    @AfterAll
    static void stopMoto() {
        if (moto != null) {
            moto.close();
        }
    }

    @Test
    void aHundredMegabyteBlobGoesUpInPartsAndComesBackWithASmallHeap() throws Exception {
        try (S3Client raw = S3Client.builder().endpointOverride(moto.endpoint()).forcePathStyle(true)
                .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("testing", "testing")))
                .build()) {
            raw.createBucket(b -> b.bucket("big-blobs"));
            Path file = tmp.resolve("big.bin");
            S3BlobStoreTest.writeRandom(file, SIZE, 42);
            String hash = BlobHash.of(file);

            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx48m",
                    "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                    LargeBlobMain.class.getName(), "s3://big-blobs/run", hash, file.toString(), tmp.resolve("back.bin").toString()));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(MotoS3.CREDENTIALS);
            pb.environment().put("AWS_ENDPOINT_URL", moto.endpoint().toString()); // the SDK's own way, as users set it
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("OK endpoint=" + moto.endpoint());
            assertThat(Files.size(tmp.resolve("back.bin"))).isEqualTo(SIZE);

            String key = "run/sha256/" + hash.substring(0, 2) + "/" + hash.substring(2);
            var head = raw.headObject(b -> b.bucket("big-blobs").key(key));
            assertThat(head.contentLength()).isEqualTo(SIZE);
            assertThat(head.eTag()).as("a multipart upload's ETag ends in -PARTS").contains("-13");
            assertThat(raw.headObject(b -> b.bucket("big-blobs").key("run-stream/sha256/" + hash.substring(0, 2) + "/" + hash.substring(2)))
                    .contentLength()).isEqualTo(SIZE);
        }
    }
}
