package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.NoSuchEntityException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An aws executor with the project's store in S3 (moto's, in the simulated cloud): the instance's agent saves the
 * run's checkpoints into the bucket itself, with the credentials its instance profile's role gets from the instance's
 * metadata service (never the user's), so they are there with no sortie running; a retry on a new instance restores
 * them from the bucket.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class AwsNodeStoreTest {
    /** The user's secret as the CLI gets it (moto takes any): it must appear nowhere on the instance or in its records. */
    static final String SECRET = "sortie-test-secret-" + Long.toHexString(System.nanoTime());
    static Simcloud cloud;
    static S3Client s3;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeAll
    static void startCloud() throws Exception {
        s3 = S3Client.builder().region(Region.US_EAST_1).endpointOverride(URI.create(cloud.ready.get("endpoint_url").asText()))
                .forcePathStyle(true).httpClientBuilder(UrlConnectionHttpClient.builder())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"))).build();
        s3.createBucket(b -> b.bucket("sortie-node"));
    }

    @AfterAll
    static void stopCloud() throws Exception {
        if (s3 != null) {
            s3.close();
        }
    }

    @AfterEach
    void noInstanceLeft() {
        cloud.assertNothingLeftRunning();
    }

    TestProject.Result sortie(String... args) throws Exception {
        return cloud.sortie(project, tmp, Map.of("AWS_SECRET_ACCESS_KEY", SECRET, "SORTIE_CONFIG", tmp.resolve("no-user-config.yaml").toString()), args);
    }

    List<String> keys(String prefix) {
        return s3.listObjectsV2(b -> b.bucket("sortie-node").prefix(prefix)).contents().stream().map(S3Object::key).toList();
    }

    @Test
    void theInstanceSavesCheckpointsIntoTheBucketItselfAndARetryOnANewInstanceRestoresThem() throws Exception {
        Files.writeString(tmp.resolve("no-user-config.yaml"), "");
        project = new TestProject(tmp.resolve("proj"));
        project.write("resume.py", """
                        import os, time
                        if os.path.exists("checkpoints/step.txt"):
                            print("resumed from", open("checkpoints/step.txt").read(), flush=True)
                        else:
                            time.sleep(2)  # after the detached sortie has exited
                            os.makedirs("checkpoints", exist_ok=True)
                            open("checkpoints/step.tmp", "w").write("7")
                            os.replace("checkpoints/step.tmp", "checkpoints/step.txt")
                            print("saved step 7", flush=True)
                            while True:
                                time.sleep(0.2)
                        """)
                .write("sortie.yaml", "run: python3 resume.py\ncheckpoints: checkpoints/\ncheckpoint_interval: 1s\n")
                .write(".gitignore", ".sortie/\n")
                .commit();
        project.write(".sortie/config.yaml", "store: {url: s3://sortie-node/team, path_style: true}\n");
        TestProject.Result add = sortie("executor", "add", "aws", "--type", "aws", "--region", "us-east-1", "--instance-type", "t3.micro",
                "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s");
        assertThat(add.code()).as(add.out()).isZero();

        TestProject.Result run = sortie("run", "-e", "aws", "-d", "--name", "far");
        assertThat(run.code()).as(run.out()).isZero();
        Instance first = cloud.alive().get(0);
        assertThat(first.iamInstanceProfile()).as("launched with the store's instance profile").isNotNull();
        assertThat(first.iamInstanceProfile().arn()).contains("instance-profile/sortie-node-aws-");

        // No sortie runs now (detached): the checkpoint reaches the bucket from the instance itself.
        String ckpt = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest("7".getBytes(StandardCharsets.UTF_8)));
        String key = "team/sha256/" + ckpt.substring(0, 2) + "/" + ckpt.substring(2);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> keys("team/").contains(key));

        // what the instance was given and keeps holds no credential of the user's
        Path disk = Path.of(cloud.vm(first.instanceId()).get("disk_dir").asText());
        String userData = cloud.ec2.describeInstanceAttribute(r -> r.instanceId(first.instanceId()).attribute("userData")).userData().value();
        assertThat(new String(Base64.getDecoder().decode(userData), StandardCharsets.UTF_8)).doesNotContain(SECRET);
        assertThat(first.tags()).allSatisfy(t -> assertThat(t.value()).doesNotContain(SECRET));

        // the code came from the bucket too: its blob is there (by SHA-256), the instance's code cache has it, and
        // nothing was synced over SSH (the sync's tree markers are absent)
        String code = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(project.dir.resolve("resume.py"))));
        assertThat(keys("team/")).contains("team/sha256/" + code.substring(0, 2) + "/" + code.substring(2));
        try (Stream<Path> s = Files.walk(disk)) {
            List<Path> all = s.toList();
            assertThat(all).anyMatch(p -> p.getParent() != null && p.getParent().endsWith("cache/code") && Files.isRegularFile(p));
            assertThat(all).noneMatch(p -> p.getParent() != null && p.getParent().endsWith("cache/trees"));
        }

        TestProject.Result stop = sortie("stop", "far");
        assertThat(stop.code()).as(stop.out()).isZero();
        assertThat(filesContaining(disk, SECRET)).as("files on the instance holding the secret").isEmpty();
        TestProject.Result down = sortie("down", "aws");
        assertThat(down.code()).as(down.out()).isZero();

        // a new instance: its store is empty, the checkpoint comes from the bucket; EC2 refuses the profile twice
        // first, as AWS does for a profile IAM made seconds ago
        cloud.control("POST", "/faults", """
                {"action": "RunInstances", "error": "InvalidParameterValue", "times": 2,
                 "message": "Value (sortie-node) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"}""");
        TestProject.Result retry = sortie("retry", "far");
        assertThat(retry.code()).as(retry.out()).isZero();
        assertThat(retry.out()).contains("resumed from 7", "EC2 does not know the instance profile sortie-node-aws-");
        Set<String> ids = new java.util.HashSet<>();
        cloud.instances().forEach(i -> ids.add(i.instanceId()));
        assertThat(ids).hasSize(2);
        assertThat(filesContaining(project.dir.resolve(".sortie"), SECRET)).as("files of the project holding the secret").isEmpty();

        // The role and instance profile sortie made go with `down` once nothing uses them.
        String arn = first.iamInstanceProfile().arn();
        String role = arn.substring(arn.lastIndexOf('/') + 1);
        String store = role.substring(role.lastIndexOf('-') + 1); // the hash of the store's URL
        try (IamClient iam = IamClient.builder().region(Region.AWS_GLOBAL).endpointOverride(URI.create(cloud.ready.get("endpoint_url").asText()))
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"))).build()) {
            // roles of an executor since removed from the config: one for this store, one for another project's store
            makeRole(iam, "sortie-node-gone-" + store);
            makeRole(iam, "sortie-node-gone-0badf00d");
            // an instance someone launched with the profile, beside sortie: it keeps the role through `down`
            String foreign = cloud.ec2.runInstances(r -> r.imageId(first.imageId()).instanceType("t3.micro").minCount(1).maxCount(1)
                    .subnetId(cloud.subnet).iamInstanceProfile(p -> p.name(role))).instances().get(0).instanceId();
            TestProject.Result down2 = sortie("down", "aws");
            assertThat(down2.code()).as(down2.out()).isZero();
            assertThat(down2.out()).contains("keeping the IAM role and instance profile " + role + ": " + foreign + " still use");
            assertThat(roleExists(iam, role)).isTrue();
            cloud.ec2.terminateInstances(r -> r.instanceIds(foreign));

            // `down --orphans`: the removed executor's role for this store goes, the other store's is not this project's
            TestProject.Result orphans = sortie("down", "--orphans");
            assertThat(orphans.code()).as(orphans.out()).isZero();
            assertThat(orphans.out()).contains("deleted the IAM role and instance profile sortie-node-gone-" + store);
            assertThat(roleExists(iam, "sortie-node-gone-" + store)).isFalse();
            assertThat(roleExists(iam, "sortie-node-gone-0badf00d")).isTrue();
            assertThat(roleExists(iam, role)).as("a configured executor's role, kept by --orphans").isTrue();

            // nothing uses the executor's own role now: `down aws` deletes it with its instance profile
            TestProject.Result down3 = sortie("down", "aws");
            assertThat(down3.code()).as(down3.out()).isZero();
            assertThat(down3.out()).contains("deleted the IAM role and instance profile " + role);
            assertThat(roleExists(iam, role)).isFalse();
            assertThat(iam.listInstanceProfiles().instanceProfiles()).noneMatch(p -> p.instanceProfileName().equals(role));
        }
    }

    /** A role and instance profile as InstanceRole makes them. */
    static void makeRole(IamClient iam, String name) {
        iam.createRole(r -> r.roleName(name).assumeRolePolicyDocument("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                + "\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"));
        iam.putRolePolicy(r -> r.roleName(name).policyName("sortie-store").policyDocument("{\"Version\":\"2012-10-17\",\"Statement\":"
                + "[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::sortie-node/team/*\"}]}"));
        iam.createInstanceProfile(r -> r.instanceProfileName(name));
        iam.addRoleToInstanceProfile(r -> r.instanceProfileName(name).roleName(name));
    }

    static boolean roleExists(IamClient iam, String name) {
        try {
            iam.getRole(r -> r.roleName(name));
            return true;
        } catch (NoSuchEntityException e) {
            return false;
        }
    }

    /** Regular files under {@code root} whose bytes contain {@code text}. */
    static List<Path> filesContaining(Path root, String text) throws IOException {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                byte[] b;
                try {
                    b = Files.readAllBytes(f);
                } catch (IOException e) {
                    continue; // a socket, a file gone meanwhile
                }
                if (indexOf(b, needle) >= 0) {
                    found.add(f);
                }
            }
        }
        return found;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
