package dev.sortie.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.store.BlobHash;
import dev.sortie.store.BlobNotFoundException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** {@link S3BlobStore} against moto's S3 in server mode (an emulator of S3, over real HTTP): no mocks. */
@Tag("integration")
class S3BlobStoreTest {
    static MotoS3 moto;
    static S3Client raw;
    static final String BUCKET = "sortie-test";

    @TempDir
    Path tmp;

    @BeforeAll
    static void startMoto() throws Exception {
        moto = MotoS3.start();
        // the SDK's default chain reads these system properties first; moto takes any credentials
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
        System.setProperty("aws.region", "us-east-1");
        raw = S3Client.builder().endpointOverride(moto.endpoint()).forcePathStyle(true).build();
        raw.createBucket(b -> b.bucket(BUCKET));
    }

    @AfterAll
    static void stopMoto() {
        if (raw != null) {
            raw.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    private S3StoreSettings settings(String prefix) {
        return S3StoreSettings.of("s3://" + BUCKET + "/" + prefix).withEndpoint(moto.endpoint(), true);
    }

    /** What a node gets to open the same store: the URL, the endpoint and addressing, never a credential. */
    @Test
    void theNodeSpecNamesTheStoreAndItsEndpointAndNoCredential() throws Exception {
        try (S3BlobStore store = S3BlobStore.open(settings("node"))) {
            var spec = store.nodeSpec().orElseThrow();
            assertThat(spec.url()).isEqualTo("s3://" + BUCKET + "/node");
            assertThat(spec.options().path("endpoint").asText()).isEqualTo(moto.endpoint().toString());
            assertThat(spec.options().path("path_style").asBoolean()).isTrue();
            assertThat(spec.toString() + spec.options()).doesNotContain(MotoS3.CREDENTIALS.get("AWS_SECRET_ACCESS_KEY"));
            S3StoreSettings again = S3StoreSettings.from(spec);
            assertThat(again.location()).isEqualTo(store.s3Location());
        }
    }

    @Test
    void putGetContainsUnderTheContentAddressedKey() throws Exception {
        try (S3BlobStore store = S3BlobStore.open(settings("basic"))) {
            byte[] content = "hello, bucket\n".getBytes(StandardCharsets.UTF_8);
            String hash = store.put(new ByteArrayInputStream(content));
            assertThat(hash).isEqualTo(sha256(content));
            assertThat(store.contains(hash)).isTrue();
            assertThat(store.size(hash)).isEqualTo(content.length);
            // the layout: prefix/sha256/ab/cdef..
            String key = "basic/sha256/" + hash.substring(0, 2) + "/" + hash.substring(2);
            assertThat(raw.getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray()).isEqualTo(content);

            Path file = Files.writeString(tmp.resolve("f.txt"), "from a file");
            String h2 = store.put(file);
            assertThat(h2).isEqualTo(BlobHash.of(file));
            assertThat(store.put(file)).isEqualTo(h2); // again: already there

            Path target = tmp.resolve("out/sub/got.txt");
            store.get(hash, target);
            assertThat(Files.readAllBytes(target)).isEqualTo(content);
            try (InputStream in = store.open(h2)) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("from a file");
            }
            assertThat(store.location()).isEqualTo("s3://sortie-test/basic");

            String absent = sha256("never stored".getBytes(StandardCharsets.UTF_8));
            assertThat(store.contains(absent)).isFalse();
            assertThatThrownBy(() -> store.get(absent, tmp.resolve("x"))).isInstanceOf(BlobNotFoundException.class)
                    .hasMessageContaining(absent).hasMessageContaining("s3://sortie-test/basic");
            assertThatThrownBy(() -> store.size(absent)).isInstanceOf(BlobNotFoundException.class);
            assertThat(tmp.resolve("x")).doesNotExist();
            // an empty blob is a blob
            String empty = store.put(new ByteArrayInputStream(new byte[0]));
            assertThat(store.size(empty)).isZero();
        }
    }

    @Test
    void twoThreadsPuttingTheSameContentBothGetItStoredOnce() throws Exception {
        try (S3BlobStore store = S3BlobStore.open(settings("race").withPartSize(S3StoreSettings.MIN_PART_SIZE))) {
            for (int size : new int[] {1000, 12 << 20}) { // one PUT; a multipart upload (3 parts)
                byte[] content = random(size, size);
                Path a = Files.write(tmp.resolve("a-" + size), content);
                Path b = Files.write(tmp.resolve("b-" + size), content);
                CyclicBarrier start = new CyclicBarrier(2);
                ExecutorService pool = Executors.newFixedThreadPool(2);
                try {
                    List<Future<String>> results = new ArrayList<>();
                    for (Path f : List.of(a, b)) {
                        results.add(pool.submit(() -> {
                            start.await(30, TimeUnit.SECONDS);
                            return store.put(f);
                        }));
                    }
                    String expected = sha256(content);
                    for (Future<String> r : results) {
                        assertThat(r.get(120, TimeUnit.SECONDS)).isEqualTo(expected);
                    }
                    try (InputStream in = store.open(expected)) {
                        assertThat(in.readAllBytes()).isEqualTo(content);
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
            // no upload left behind by the loser of the race
            assertThat(raw.listMultipartUploads(r -> r.bucket(BUCKET).prefix("race/")).uploads()).isEmpty();
        }
    }

    @Test
    void anObjectWhoseBytesDoNotMatchItsNameIsAnErrorNamingTheKey() throws Exception {
        try (S3BlobStore store = S3BlobStore.open(settings("corrupt"))) {
            String hash = sha256("the real content".getBytes(StandardCharsets.UTF_8));
            String key = "corrupt/sha256/" + hash.substring(0, 2) + "/" + hash.substring(2);
            raw.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString("something else"));
            Path target = tmp.resolve("restored.txt");
            Files.writeString(target, "the old file");

            assertThatThrownBy(() -> store.get(hash, target)).isInstanceOf(IOException.class)
                    .hasMessageContaining("s3://sortie-test/" + key).hasMessageContaining("corrupt");
            assertThat(target).hasContent("the old file"); // not replaced
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(p -> p.getFileName().toString())).containsExactly("restored.txt"); // no temp file
            }
            assertThatThrownBy(() -> {
                try (InputStream in = store.open(hash)) {
                    in.readAllBytes();
                }
            }).isInstanceOf(IOException.class).hasMessageContaining(key);
            // a reader that takes exactly the object's length (a tar entry to a host) and closes is told too
            long length = store.size(hash);
            assertThatThrownBy(() -> {
                try (InputStream in = store.open(hash)) {
                    assertThat(in.readNBytes((int) length)).hasSize((int) length);
                }
            }).isInstanceOf(IOException.class).hasMessageContaining(key);
        }
    }

    @Test
    void anEndpointThatIsDownIsAnIOExceptionNamingBucketAndEndpoint() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        URI down = URI.create("http://127.0.0.1:" + port);
        assertThatThrownBy(() -> S3BlobStore.open(S3StoreSettings.of("s3://" + BUCKET + "/p").withEndpoint(down, true)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot reach the S3 store s3://sortie-test/p")
                .hasMessageContaining(down.toString())
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("testing")); // no credential in a message
    }

    @Test
    void aBucketThatDoesNotExistIsNamed() {
        assertThatThrownBy(() -> S3BlobStore.open(S3StoreSettings.of("s3://no-such-bucket/p").withEndpoint(moto.endpoint(), true)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("'no-such-bucket' does not exist").hasMessageContaining(moto.endpoint().toString());
    }

    static String sha256(byte[] content) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(content));
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static void writeRandom(Path file, long size, long seed) throws IOException {
        Random r = new Random(seed);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= buf.length) {
                r.nextBytes(buf);
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
    }
}
