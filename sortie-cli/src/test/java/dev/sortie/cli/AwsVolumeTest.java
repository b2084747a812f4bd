package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Volume;

/**
 * An aws executor's named volume against the simulated cloud, where an attached volume is a real block device of the
 * VM (a loop device over a file that outlives the instance): the node makes its file system and mounts it at the
 * cache folder, a run writes there, the instance goes, and the next instance's run finds what the last one left.
 * Needs root and loop devices (simcloud's VMs get block devices only then).
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class AwsVolumeTest {
    static Simcloud cloud;
    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeAll
    static void startCloud() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/loop-control")),
                "simcloud gives VMs block devices as root with loop devices only");
        cloud = Simcloud.start(shared.resolve("simcloud"));
    }

    @AfterAll
    static void stopCloud() throws Exception {
        if (cloud != null) {
            cloud.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        // what the run finds in the cache folder (remote_dir/cache), whether that is the volume, and what it leaves
        project.write("cache.sh", """
                        c="$HOME/.sortie/cache"
                        if grep -q " $c " /proc/mounts; then echo "cache on a volume of $(df -k "$c" | awk 'NR==2{print $2}') KiB"; fi
                        echo "cache holds: $(cat "$c/data/x" 2>/dev/null || echo nothing)"
                        if [ -n "$1" ]; then mkdir -p "$c/data" && echo "$1" > "$c/data/x"; fi
                        """)
                .write(".gitignore", "data/\n")
                .write("sortie.yaml", """
                        name: cached
                        run: sh cache.sh ${leave}
                        params: {leave: ''}
                        data: [data/]
                        """)
                .commit();
        Files.createDirectories(project.dir.resolve("data"));
        Files.writeString(project.dir.resolve("data/small.bin"), "x".repeat(1000));
    }

    @AfterEach
    void noInstanceLeft() {
        if (cloud != null) {
            cloud.assertNothingLeftRunning();
        }
    }

    TestProject.Result sortie(String... args) throws Exception {
        return cloud.sortie(project, tmp, Map.of(), args);
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

    List<Volume> volumes(String executor) {
        // the named volume, not the instances' root volumes (tagged with the instance's tags)
        return cloud.ec2.describeVolumes(r -> r.filters(Filter.builder().name("tag:sortie:executor").values(executor).build(),
                Filter.builder().name("tag-key").values("sortie:volume").build())).volumes();
    }

    void awaitTerminated(Set<String> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                cloud.instances().stream().filter(i -> ids.contains(i.instanceId()))
                        .allMatch(i -> i.state().nameAsString().equals("terminated")));
    }

    String launchedBy(Set<String> before) {
        Set<String> now = ids();
        now.removeAll(before);
        assertThat(now).hasSize(1);
        return now.iterator().next();
    }

    @Test
    void theNextInstanceFindsWhatTheLastOneCachedOnTheVolumeAndASecondInstanceRunsWithoutIt() throws Exception {
        addExecutor("vol", "--volume", "data", "--max-instances", "2");
        TestProject.Result test = sortie("executor", "test", "vol");
        assertThat(test.code()).as(test.out()).isZero();
        assertThat(test.out()).contains("volume: data: none yet; the first launch creates it");
        assertThat(volumes("vol")).as("executor test creates nothing").isEmpty();
        Set<String> before = ids();
        TestProject.Result first = sortie("run", "-e", "vol", "-S", "leave=hello");
        assertThat(first.code()).as(first.out()).isZero();
        String one = launchedBy(before);
        // created at the task's data size with headroom, at least 1 GiB; made into a file system and mounted by the node
        assertThat(first.out()).contains("aws volume data: created vol-", "(1 GiB, us-east-1", "volume data (vol-",
                "attached as /dev/sdf", "cache on a volume of", "cache holds: nothing");
        List<Volume> vols = volumes("vol");
        assertThat(vols).hasSize(1);
        Volume v = vols.get(0);
        assertThat(v.size()).isEqualTo(1);
        assertThat(v.attachments()).anySatisfy(a -> assertThat(a.instanceId()).isEqualTo(one));
        JsonNode vm = cloud.vm(one);
        assertThat(vm.get("volumes").get(0).get("volume_id").asText()).isEqualTo(v.volumeId());

        TestProject.Result status = sortie("status");
        assertThat(status.out()).contains("data", v.volumeId(), "us-east-1", "1 GiB", "in-use", one);
        TestProject.Result test2 = sortie("executor", "test", "vol");
        assertThat(test2.out()).contains("volume: data: " + v.volumeId() + ", 1 GiB in " + v.availabilityZone() + ", attached to " + one);

        // the instance goes (down); the volume stays, detached
        TestProject.Result down = sortie("down", "vol");
        assertThat(down.code()).as(down.out()).isZero();
        awaitTerminated(Set.of(one));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(volumes("vol").get(0).stateAsString()));

        // the data outgrew the volume (a sparse 2 GiB file: its size counts): the next launch grows it first
        try (RandomAccessFile f = new RandomAccessFile(project.dir.resolve("data/big.bin").toFile(), "rw")) {
            f.setLength(2L << 30);
        }
        Set<String> before2 = ids();
        TestProject.Result second = sortie("run", "-e", "vol");
        assertThat(second.code()).as(second.out()).isZero();
        String two = launchedBy(before2);
        assertThat(second.out()).contains("growing " + v.volumeId() + " from 1 to 3 GiB", "requested", "cache holds: hello")
                .doesNotContain("created vol-");
        long kib = Long.parseLong(second.out().replaceAll("(?s).*cache on a volume of (\\d+) KiB.*", "$1"));
        assertThat(kib).as("the file system grew with the volume").isGreaterThan(2L << 20);
        assertThat(volumes("vol")).singleElement().satisfies(x -> assertThat(x.size()).isEqualTo(3));

        // a second instance while the volume is attached to the first runs without it (never two attachments)
        Set<String> before3 = ids();
        TestProject.Result up = sortie("up", "vol", "-n", "2");
        assertThat(up.code()).as(up.out()).isZero();
        String three = launchedBy(before3);
        assertThat(up.out()).contains("volume data (" + v.volumeId() + ") is attached to " + two + ": this instance runs without it");
        assertThat(cloud.vm(three).get("volumes")).isEmpty();
        assertThat(volumes("vol")).singleElement().satisfies(x -> assertThat(x.attachments())
                .singleElement().satisfies(a -> assertThat(a.instanceId()).isEqualTo(two)));

        // down --orphans never deletes a volume; down EXECUTOR --volumes does, once detached
        TestProject.Result orphans = sortie("down", "--orphans");
        assertThat(orphans.code()).as(orphans.out()).isZero();
        assertThat(volumes("vol")).hasSize(1);
        TestProject.Result refused = sortie("down", "--all", "--volumes");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(volumes("vol")).hasSize(1);
        TestProject.Result all = sortie("down", "vol", "--volumes");
        assertThat(all.code()).as(all.out()).isZero();
        assertThat(all.out()).contains(v.volumeId(), "deleted", "1 volume deleted");
        awaitTerminated(Set.of(two, three));
        assertThat(volumes("vol")).isEmpty();
    }
    /**
     * AWS refuses the attachment after the launch chose the volume (another sortie's instance attached it first,
     * injected here as AWS's VolumeInUse): the instance runs without it, and the node, told so, stops waiting for it
     * (it would wait two minutes, past this boot timeout).
     */
    @Test
    void anInstanceWhoseVolumeWasTakenMeanwhileRunsWithoutItAtOnce() throws Exception {
        addExecutor("taken", "--volume", "data:1G", "--boot-timeout", "60s");
        cloud.control("POST", "/faults", "{\"action\": \"AttachVolume\", \"error\": \"VolumeInUse\", \"times\": 1}");
        try {
            TestProject.Result r = sortie("run", "-e", "taken");
            assertThat(r.code()).as(r.out()).isZero();
            assertThat(r.out()).contains("was attached elsewhere meanwhile (VolumeInUse)", "runs without it", "cache holds: nothing")
                    .doesNotContain("cache on a volume", "attached as /dev/sdf");
        } finally {
            cloud.control("POST", "/faults/clear", null);
        }
        TestProject.Result down = sortie("down", "taken", "--volumes");
        assertThat(down.code()).as(down.out()).isZero();
        assertThat(down.out()).contains("1 volume deleted");
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> cloud.alive().isEmpty());
    }
}
