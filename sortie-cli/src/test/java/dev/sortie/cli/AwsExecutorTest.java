package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ec2.model.Instance;

/**
 * The aws executor end to end against the simulated cloud (testkit/simcloud: moto's EC2 API, a real host with its
 * own sshd per instance, the user data run as cloud-init would): each sortie is a separate JVM whose AWS SDK finds
 * the emulator through AWS_ENDPOINT_URL and its credentials through the default chain. Every test ends with no
 * instance running.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class AwsExecutorTest {
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", """
                        import sys
                        steps = int(sys.argv[1])
                        for i in range(steps):
                            print(f"loss={1.0 / (i + 1):.4f} step={i}", flush=True)
                        open("model.bin", "w").write("weights")
                        """)
                .write("sortie.yaml", """
                        name: train
                        run: python3 train.py ${steps}
                        params: {steps: 3}
                        artifacts: [model.bin]
                        """)
                .commit();
    }

    @AfterEach
    void noInstanceLeft() {
        cloud.assertNothingLeftRunning();
    }

    /** sortie in a JVM of its own, with the simulated cloud's environment (and {@code env}: null values removed). */
    TestProject.Result sortie(Map<String, String> env, String... args) throws Exception {
        return cloud.sortie(project, tmp, env, args);
    }

    TestProject.Result sortie(String... args) throws Exception {
        return sortie(Map.of(), args);
    }

    void addExecutor(String name, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("executor", "add", name, "--type", "aws", "--region", "us-east-1",
                "--instance-type", "t3.micro", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s"));
        args.addAll(List.of(more));
        TestProject.Result r = sortie(args.toArray(new String[0]));
        assertThat(r.code()).as(r.out()).isZero();
    }

    Set<String> ids() {
        Set<String> s = new HashSet<>();
        cloud.instances().forEach(i -> s.add(i.instanceId()));
        return s;
    }

    void awaitTerminated(Set<String> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                cloud.instances().stream().filter(i -> ids.contains(i.instanceId()))
                        .allMatch(i -> i.state().nameAsString().equals("terminated")));
    }

    @Test
    void addTestRunOnANewInstanceThenReuseItIdleThenDown() throws Exception {
        addExecutor("aws");
        TestProject.Result test = sortie("executor", "test", "aws");
        assertThat(test.code()).as(test.out()).isZero();
        assertThat(test.out()).contains("would launch: t3.micro: 2 vCPUs", "on-demand", "image: ami-", "login: root");
        assertThat(cloud.alive()).as("executor test launches nothing").isEmpty();

        Set<String> before = ids();
        TestProject.Result r = sortie("run", "-e", "aws", "-S", "steps=4", "--", "python3", "train.py", "${steps}");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("requested (t3.micro, on-demand", "booting", "agent ready", "loss=0.2500 step=3");
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        String id = launched.iterator().next();
        Instance inst = cloud.instances().stream().filter(i -> i.instanceId().equals(id)).findFirst().orElseThrow();
        assertThat(inst.tags()).anySatisfy(t -> assertThat(t.key() + "=" + t.value()).isEqualTo("sortie:executor=aws"));
        assertThat(inst.tags()).anySatisfy(t -> assertThat(t.key()).isEqualTo("sortie:experiment"));
        assertThat(inst.tags()).anySatisfy(t -> assertThat(t.key() + "=" + t.value()).isEqualTo("sortie:ready=true"));
        // the login key Sortie made: the user's config folder, 0600
        try (var keys = Files.list(tmp.resolve("config/sortie/aws/keys"))) {
            Path key = keys.filter(p -> !p.toString().endsWith(".pub")).findFirst().orElseThrow();
            assertThat(Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(r.out()).doesNotContain(Files.readString(key).lines().skip(1).findFirst().orElseThrow());
        }
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.list().get(0);
            assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(e.params().asMap()).containsEntry("steps", 4L);
            assertThat(l.latestMetrics(e.id())).containsEntry("loss", 0.25);
            assertThat(l.series(e.id(), "loss")).hasSize(4);
            assertThat(l.artifacts(e.id())).anySatisfy(a -> {
                assertThat(a.kind()).isEqualTo(ArtifactKind.ARTIFACT);
                assertThat(a.path()).isEqualTo("model.bin");
            });
        }

        // a second run finds the instance idle: no RunInstances
        TestProject.Result again = sortie("run", "-e", "aws");
        assertThat(again.code()).as(again.out()).isZero();
        assertThat(again.out()).contains(id + ": idle, running there").doesNotContain("requested");
        Set<String> after = ids();
        after.removeAll(before);
        assertThat(after).containsExactly(id);

        TestProject.Result status = sortie("status");
        assertThat(status.out()).contains(id, "running", "t3.micro");

        TestProject.Result down = sortie("down", "aws");
        assertThat(down.code()).as(down.out()).isZero();
        assertThat(down.out()).contains(id);
        awaitTerminated(Set.of(id));
    }

    @Test
    void upStartsSpotInstancesThatRunsUseAndDownTerminates() throws Exception {
        addExecutor("spot", "--spot", "--max-instances", "2");
        Set<String> before = ids();
        TestProject.Result up = sortie("up", "spot", "-n", "2");
        assertThat(up.code()).as(up.out()).isZero();
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(2);
        assertThat(cloud.instances().stream().filter(i -> launched.contains(i.instanceId())))
                .allSatisfy(i -> assertThat(i.instanceLifecycleAsString()).isEqualTo("spot"));

        TestProject.Result run = sortie("run", "-e", "spot");
        assertThat(run.code()).as(run.out()).isZero();
        assertThat(run.out()).contains("idle, running there").doesNotContain("requested");
        Set<String> after = ids();
        after.removeAll(before);
        assertThat(after).isEqualTo(launched);

        TestProject.Result down = sortie("down", "--all");
        assertThat(down.code()).as(down.out()).isZero();
        awaitTerminated(launched);
    }

    /**
     * A run on a hot instance finds it and logs into it on the warm-up thread while the run is prepared, the login
     * to the instance it used last beside DescribeInstances; when that instance is gone, the login is passed over
     * and the run takes another idle instance.
     */
    @Test
    void aHotRunLogsInWhileItIsPreparedAndPassesOverALastInstanceThatIsGone() throws Exception {
        addExecutor("hot", "--max-instances", "2");
        Set<String> before = ids();
        TestProject.Result up = sortie("up", "hot", "-n", "2");
        assertThat(up.code()).as(up.out()).isZero();
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(2);

        TestProject.Result first = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "hot");
        assertThat(first.code()).as(first.out()).isZero();
        String used = launched.stream().filter(id -> first.out().contains(id + ": idle, running there")).findFirst().orElseThrow();
        assertThat(first.out()).contains("sortie-warm-up] aws: idle instance " + used).doesNotContain("main] connected to");

        cloud.ec2.terminateInstances(r -> r.instanceIds(used));
        awaitTerminated(Set.of(used));
        String other = launched.stream().filter(id -> !id.equals(used)).findFirst().orElseThrow();
        TestProject.Result second = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "hot");
        assertThat(second.code()).as(second.out()).isZero();
        assertThat(second.out()).contains(other + ": idle, running there").doesNotContain("requested", "main] connected to");

        TestProject.Result down = sortie("down", "hot");
        assertThat(down.code()).as(down.out()).isZero();
        awaitTerminated(launched);
    }

    /**
     * A run on a hot instance goes straight to the instance this machine last saw ready (its hint file) and confirms it
     * on the instance, asking EC2 nothing; a host at the hinted address that is not that instance is never taken for
     * it, neither one with another host key (a terminated instance's address given to another) nor one with the
     * right key but another instance id: EC2 decides then, and the run goes to the instance at its real address.
     */
    @Test
    void aHotRunGoesStraightToTheInstanceItLastSawReadyAndTakesNoOtherHostForIt() throws Exception {
        addExecutor("direct", "--max-instances", "2");
        Set<String> before = ids();
        TestProject.Result up = sortie("up", "direct", "-n", "2");
        assertThat(up.code()).as(up.out()).isZero();
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(2);

        TestProject.Result first = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "direct");
        assertThat(first.code()).as(first.out()).isZero();
        String used = launched.stream().filter(id -> first.out().contains(id + ": idle, running there")).findFirst().orElseThrow();
        Path hint;
        try (var files = Files.list(tmp.resolve("config/sortie/aws/hot"))) {
            hint = files.filter(p -> p.getFileName().toString().endsWith("-direct.properties")).findFirst().orElseThrow();
        }
        assertThat(Files.readString(hint)).contains("id=" + used);

        TestProject.Result direct = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "direct");
        assertThat(direct.code()).as(direct.out()).isZero();
        assertThat(direct.out()).contains("aws: idle instance " + used + " (direct, EC2 not asked)", used + ": idle, running there");

        Instance usedInst = cloud.instances().stream().filter(i -> i.instanceId().equals(used)).findFirst().orElseThrow();
        Instance other = cloud.instances().stream().filter(i -> launched.contains(i.instanceId()) && !i.instanceId().equals(used))
                .findFirst().orElseThrow();
        String otherKey = other.tags().stream().filter(t -> t.key().equals("sortie:host-key")).findFirst().orElseThrow().value();
        String text = Files.readString(hint);
        // the hinted address now answers with another host key: what a terminated instance's reused address looks like
        Files.writeString(hint, text.replace("address=" + usedInst.privateIpAddress(), "address=" + other.privateIpAddress()));
        TestProject.Result reused = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "direct");
        assertThat(reused.code()).as(reused.out()).isZero();
        assertThat(reused.out()).doesNotContain("(direct, EC2 not asked)", "running on root@" + other.privateIpAddress() + ":")
                .contains(used + ": idle, running there", "running on root@" + usedInst.privateIpAddress() + ":");

        // the right host key at the address, but the node there is another instance
        String keyLine = text.lines().filter(l -> l.startsWith("host_key=")).findFirst().orElseThrow();
        Files.writeString(hint, text.replace("address=" + usedInst.privateIpAddress(), "address=" + other.privateIpAddress())
                .replace(keyLine, "host_key=" + otherKey));
        TestProject.Result wrongId = sortie(Map.of("SORTIE_TRACE", "1"), "run", "-e", "direct");
        assertThat(wrongId.code()).as(wrongId.out()).isZero();
        assertThat(wrongId.out()).doesNotContain("(direct, EC2 not asked)", "confirmed on the instance",
                        "running on root@" + other.privateIpAddress() + ":")
                .contains(used + ": idle, running there", "running on root@" + usedInst.privateIpAddress() + ":");

        TestProject.Result down = sortie("down", "direct");
        assertThat(down.code()).as(down.out()).isZero();
        assertThat(tmp.resolve("config/sortie/aws/hot").resolve(hint.getFileName())).doesNotExist();
        awaitTerminated(launched);
    }

    @Test
    void anIdleInstanceTerminatesItself() throws Exception {
        addExecutor("idle", "--idle-stop", "3s");
        Set<String> before = ids();
        TestProject.Result up = sortie("up", "idle");
        assertThat(up.code()).as(up.out()).isZero();
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        // nobody calls AWS: the node's watchdog powers it off, and shutdown means terminate
        awaitTerminated(launched);
        Instance i = cloud.instances().stream().filter(x -> launched.contains(x.instanceId())).findFirst().orElseThrow();
        assertThat(i.stateReason().code()).isEqualTo("Client.InstanceInitiatedShutdown");
    }

    @Test
    void downOrphansTerminatesWhatASigkilledSortieWasProvisioning() throws Exception {
        addExecutor("orphan");
        Set<String> before = ids();
        Path out = tmp.resolve("up.txt");
        ProcessBuilder pb = project.processBuilder(out, "up", "orphan");
        cloud.environ(pb, tmp);
        Process p = pb.start();
        // SIGKILL once RunInstances returned, before the instance is recorded ready
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            Set<String> now = ids();
            now.removeAll(before);
            return !now.isEmpty();
        });
        p.destroyForcibly().waitFor();
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        Instance i = cloud.instances().stream().filter(x -> launched.contains(x.instanceId())).findFirst().orElseThrow();
        assertThat(i.tags()).as("tagged at launch").anySatisfy(t -> assertThat(t.key()).isEqualTo("sortie:owner"));
        assertThat(i.tags()).as("killed before it was ready").noneSatisfy(t -> assertThat(t.key()).isEqualTo("sortie:ready"));

        TestProject.Result down = sortie("down", "--orphans");
        assertThat(down.code()).as(down.out()).isZero();
        assertThat(down.out()).contains(i.instanceId(), "the sortie that made it is gone");
        awaitTerminated(launched);
    }

    @Test
    void badInputSaysWhatIsWrongAndStartsNothing() throws Exception {
        TestProject.Result badRegion = sortie("executor", "add", "x", "--type", "aws", "--region", "Mars", "--instance-type", "t3.micro");
        assertThat(badRegion.code()).isEqualTo(2);
        assertThat(badRegion.out()).contains("region", "'Mars' is not an AWS region name");

        addExecutor("bogus", "--instance-type", "t3.bogus");
        TestProject.Result type = sortie("run", "-e", "bogus");
        assertThat(type.code()).isEqualTo(3);
        assertThat(type.out()).contains("InvalidInstanceType", "t3.bogus");

        TestProject.Result region = sortie("executor", "add", "nowhere", "--type", "aws", "--region", "xx-nowhere-1",
                "--instance-type", "t3.micro", "--private-ip");
        assertThat(region.code()).isZero();
        TestProject.Result r = sortie("run", "-e", "nowhere");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("'xx-nowhere-1' is not a region AWS's SDK knows");

        addExecutor("nocreds");
        Path home = Files.createDirectories(tmp.resolve("empty-home"));
        TestProject.Result creds = sortie(java.util.Collections.unmodifiableMap(new java.util.HashMap<>() {{
            put("AWS_ACCESS_KEY_ID", null);
            put("AWS_SECRET_ACCESS_KEY", null);
            put("HOME", home.toString());
        }}), "run", "-e", "nocreds");
        assertThat(creds.code()).isEqualTo(3);
        assertThat(creds.out()).contains("no AWS credentials");
        TestProject.Result test = sortie(java.util.Collections.unmodifiableMap(new java.util.HashMap<>() {{
            put("AWS_ACCESS_KEY_ID", null);
            put("AWS_SECRET_ACCESS_KEY", null);
            put("HOME", home.toString());
        }}), "executor", "test", "nocreds");
        assertThat(test.code()).isEqualTo(3);
        assertThat(test.out()).contains("no AWS credentials");
        assertThat(cloud.alive()).isEmpty();
    }
}
