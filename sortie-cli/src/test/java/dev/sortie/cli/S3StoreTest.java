package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.store.s3.MotoS3;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@code store: s3://...} end to end: the real CLI, as its own process with the AWS SDK's environment as a user sets it
 * ({@code AWS_ENDPOINT_URL}, credentials), against moto's S3 in server mode (an emulator of S3, not S3).
 */
@Tag("integration")
class S3StoreTest {
    static final String TRAIN = """
            import os
            os.makedirs("checkpoints", exist_ok=True)
            with open("checkpoints/ckpt.txt", "w") as f: f.write("epoch 3")
            with open("model.bin", "w") as f: f.write("weights " * 1000)
            print("loss=0.5 step=1")
            """;
    static MotoS3 moto;
    static S3Client raw;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startMoto() throws Exception {
        moto = MotoS3.start();
        raw = S3Client.builder().endpointOverride(moto.endpoint()).forcePathStyle(true).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"))).build();
        raw.createBucket(b -> b.bucket("sortie-e2e"));
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

    private TestProject project(String config) throws Exception {
        TestProject p = new TestProject(tmp.resolve("proj"));
        p.write("train.py", TRAIN)
                .write("sortie.yaml", "run: python3 train.py\ncheckpoints: checkpoints/\nartifacts: [model.bin]\n")
                .write(".gitignore", ".sortie/\nout/\n")
                .commit();
        p.write(".sortie/config.yaml", config);
        return p;
    }

    /** Runs the CLI as its own JVM with the SDK's environment pointed at moto; returns its exit code, output in {@code out}. */
    private int sortie(TestProject p, Path out, String endpoint, String... args) throws Exception {
        ProcessBuilder pb = p.processBuilder(out, args);
        pb.environment().putAll(MotoS3.CREDENTIALS);
        pb.environment().put("AWS_ENDPOINT_URL", endpoint);
        pb.environment().put("SORTIE_CONFIG", tmp.resolve("no-user-config.yaml").toString());
        Files.writeString(tmp.resolve("no-user-config.yaml"), "");
        Process proc = pb.start();
        assertThat(proc.waitFor(3, TimeUnit.MINUTES)).as("sortie " + String.join(" ", args)).isTrue();
        System.err.println("$ sortie " + String.join(" ", args) + " -> " + proc.exitValue() + "\n" + Files.readString(out));
        return proc.exitValue();
    }

    @Test
    void aRunsCheckpointsAndArtifactsLandInTheBucketAndPullFetchesThem() throws Exception {
        TestProject p = project("store: {url: s3://sortie-e2e/team/proj, path_style: true}\n");
        String endpoint = moto.endpoint().toString();

        assertThat(sortie(p, tmp.resolve("run.log"), endpoint, "run", "--name", "s3run")).isZero();

        List<String> keys = raw.listObjectsV2(b -> b.bucket("sortie-e2e").prefix("team/proj/")).contents().stream().map(S3Object::key).toList();
        String ckpt = TestHashes.sha256("epoch 3");
        String model = TestHashes.sha256("weights ".repeat(1000));
        assertThat(keys).contains("team/proj/sha256/" + ckpt.substring(0, 2) + "/" + ckpt.substring(2),
                "team/proj/sha256/" + model.substring(0, 2) + "/" + model.substring(2));
        // nothing went to the local store
        Path objects = p.dir.resolve(".sortie/store/objects");
        if (Files.exists(objects)) {
            try (Stream<Path> s = Files.walk(objects)) {
                assertThat(s.filter(Files::isRegularFile)).isEmpty();
            }
        }

        assertThat(sortie(p, tmp.resolve("pull.log"), endpoint, "pull", "s3run", "--to", "out")).isZero();
        assertThat(p.dir.resolve("out/checkpoints/ckpt.txt")).hasContent("epoch 3");
        assertThat(Files.readString(p.dir.resolve("out/model.bin"), StandardCharsets.UTF_8)).isEqualTo("weights ".repeat(1000));
    }

    @Test
    void anEndpointThatIsDownFailsTheRunBeforeItStartsWithExitThree() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String down = "http://127.0.0.1:" + port;
        TestProject p = project("store: {url: s3://sortie-e2e/p, endpoint: '" + down + "', path_style: true}\n");
        p.write("sortie.yaml", "run: touch ran\n");

        assertThat(sortie(p, tmp.resolve("run.log"), moto.endpoint().toString(), "run")).isEqualTo(3);
        String out = Files.readString(tmp.resolve("run.log"));
        assertThat(out).contains("cannot reach the S3 store s3://sortie-e2e/p").contains(down).doesNotContain("testing");
        assertThat(p.dir.resolve("ran")).doesNotExist();
    }

    @Test
    void aBucketThatDoesNotExistIsExitThreeNamingIt() throws Exception {
        TestProject p = project("store: {url: s3://no-such-bucket/p, path_style: true}\n");
        assertThat(sortie(p, tmp.resolve("run.log"), moto.endpoint().toString(), "run")).isEqualTo(3);
        assertThat(Files.readString(tmp.resolve("run.log"))).contains("'no-such-bucket' does not exist").contains(moto.endpoint().toString());
    }

    @Test
    void aBadStoreSettingIsExitTwoNamingTheFileLineAndField() throws Exception {
        TestProject p = project("executors: {}\nstore: s3:///no-bucket\n");
        TestProject.Result r = p.sortie("run", "--", "true");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(p.dir.resolve(".sortie/config.yaml") + ":2").contains("'store'").contains("names no bucket");

        p.write(".sortie/config.yaml", "store:\n  url: s3://b-ok/x\n  path-style: true\n");
        TestProject.Result typo = p.sortie("status");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err()).contains("config.yaml:3").contains("'store.path-style'").contains("did you mean 'path_style'");
    }

    /**
     * On an ssh host the agent keeps outputs in the host's own store and the CLI copies them into the configured one
     * (the bucket); a retry on a host whose store is gone (a new instance) gets its checkpoints from the bucket.
     */
    @Test
    void aRemoteRunsCheckpointsGoToTheBucketAndARetryOnAFreshHostIsRestoredFromIt() throws Exception {
        try (SshHosts hosts = SshHosts.start(1)) {
            Path remote = tmp.resolve("host");
            TestProject p = project("store: {url: s3://sortie-e2e/remote, path_style: true}\n"
                    + "executors:\n" + SshHosts.executor("box", hosts.get(0), remote));
            p.write("resume.py", """
                    import os, time
                    if os.path.exists("checkpoints/step.txt"):
                        print("resumed from", open("checkpoints/step.txt").read(), flush=True)
                    else:
                        os.makedirs("checkpoints", exist_ok=True)
                        open("checkpoints/step.tmp", "w").write("7")
                        os.replace("checkpoints/step.tmp", "checkpoints/step.txt")
                        print("saved step 7", flush=True)
                        while True:
                            time.sleep(0.2)
                    """)
                    .write("sortie.yaml", "run: python3 resume.py\ncheckpoints: checkpoints/\ncheckpoint_interval: 1s\n")
                    .commit();
            String endpoint = moto.endpoint().toString();
            try {
                assertThat(sortie(p, tmp.resolve("run.log"), endpoint, "run", "-e", "box", "-d", "--name", "far")).isZero();
                String ckpt = TestHashes.sha256("7");
                String key = "remote/sha256/" + ckpt.substring(0, 2) + "/" + ckpt.substring(2);
                // the checkpoint reaches the host's store, then the stop collects it into the bucket
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                        .until(() -> Files.exists(remote.resolve("store/objects/" + ckpt.substring(0, 2) + "/" + ckpt.substring(2))));
                assertThat(sortie(p, tmp.resolve("stop.log"), endpoint, "stop", "far")).isZero();
                assertThat(raw.listObjectsV2(b -> b.bucket("sortie-e2e").prefix("remote/")).contents())
                        .extracting(S3Object::key).contains(key);

                // a fresh host: nothing of the first run's store is left there
                dev.sortie.core.util.FileTrees.delete(remote.resolve("store"));
                assertThat(sortie(p, tmp.resolve("retry.log"), endpoint, "retry", "far")).isZero();
                assertThat(Files.readString(tmp.resolve("retry.log"))).contains("resumed from 7");
            } finally {
                new ProcessBuilder("pkill", "-f", "AgentMain run " + remote).start().waitFor();
            }
        }
    }

    /** SHA-256 in hex, as the store names blobs. */
    static final class TestHashes {
        static String sha256(String s) throws Exception {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        }
    }
}
