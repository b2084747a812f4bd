package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ec2.model.Instance;

/**
 * The aws executor's choice of instance, its prices and its faults, against the simulated cloud: moto's
 * DescribeInstanceTypes, the Price List fixture (AWS's GetProducts format) and spot prices served by simcloud in front
 * of moto, capacity, quota and throttling errors injected there (AWS's own error documents), and a host that never
 * boots. Each sortie is a JVM of its own; every test ends with no instance running.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class AwsChoiceTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static Simcloud cloud;
    static String zoneA;
    static String zoneB;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeAll
    static void startCloud() throws Exception {
        var subnet = cloud.ec2.describeSubnets(r -> r.subnetIds(cloud.subnet)).subnets().get(0);
        zoneA = subnet.availabilityZone();
        zoneB = zoneA.equals("us-east-1b") ? "us-east-1c" : "us-east-1b";
        // a second subnet of the same VPC in another zone: where a zone fallback launches
        cloud.ec2.createSubnet(r -> r.vpcId(subnet.vpcId()).cidrBlock(cloud.vpcPrefix + "2.0/24").availabilityZone(zoneB));
        Path fixture = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent()
                .resolve("sortie-executors-aws/src/test/resources/aws-pricing/us-east-1-get-products.json");
        JsonNode page = JSON.readTree(fixture.toFile());
        cloud.control("POST", "/pricing", JSON.writeValueAsString(Map.of("products", page.get("PriceList"))));
    }

    @BeforeEach
    void setUp() throws Exception {
        cloud.control("POST", "/faults/clear", "{}");
        project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", """
                        name: train
                        run: echo loss=0.5
                        resources: {cpus: 2, memory: 4G}
                        """)
                .commit();
    }

    @AfterEach
    void noInstanceLeft() {
        cloud.assertNothingLeftRunning();
    }

    TestProject.Result sortie(String... args) throws Exception {
        return cloud.sortie(project, tmp, Map.of(), args);
    }

    void addExecutor(String name, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("executor", "add", name, "--type", "aws", "--region", "us-east-1",
                "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s"));
        args.addAll(List.of(more));
        TestProject.Result r = sortie(args.toArray(new String[0]));
        assertThat(r.code()).as(r.out()).isZero();
    }

    Set<String> ids() {
        Set<String> s = new HashSet<>();
        cloud.instances().forEach(i -> s.add(i.instanceId()));
        return s;
    }

    Instance instance(String id) {
        return cloud.instances().stream().filter(i -> i.instanceId().equals(id)).findFirst().orElseThrow();
    }

    void awaitTerminated(Set<String> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                cloud.instances().stream().filter(i -> ids.contains(i.instanceId()))
                        .allMatch(i -> i.state().nameAsString().equals("terminated")));
    }

    /** The RunInstances calls simcloud saw since the test began: "zone market type -> error or ok". */
    List<String> runInstances() throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode r : cloud.control("GET", "/requests?action=RunInstances", null)) {
            out.add(r.get("zone").asText() + " " + r.get("market").asText() + " " + r.get("InstanceType").asText() + " -> "
                    + (r.get("error").isNull() ? "ok" : r.get("error").asText()));
        }
        return out;
    }

    void fault(String action, Map<String, String> match, String error, Integer times) throws Exception {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("action", action);
        body.put("match", match);
        if (error != null) {
            body.put("error", error);
        }
        if (times != null) {
            body.put("times", times);
        }
        cloud.control("POST", "/faults", JSON.writeValueAsString(body));
    }

    @Test
    void theCheapestTypeThatFitsIsLaunchedPricedAndItsCostRecorded() throws Exception {
        addExecutor("cheap");
        TestProject.Result test = sortie("executor", "test", "cheap");
        assertThat(test.code()).as(test.out()).isZero();
        // cpus: 2, memory: 4G: t3.medium ($0.0416) beats c5.large ($0.085); t3.micro/t3.small are too small, t4g is arm
        assertThat(test.out()).contains("would launch: t3.medium: 2 vCPUs, 4.0 GiB", "$0.0416/h on-demand", "the cheapest of");
        assertThat(cloud.alive()).as("executor test launches nothing").isEmpty();
        assertThat(tmp.resolve("cache/sortie/aws-prices/us-east-1.json")).as("prices cached with their date").exists();
        assertThat(Files.readString(tmp.resolve("cache/sortie/aws-prices/us-east-1.json"))).contains("\"fetched\"", "\"t3.medium\" : 0.0416");

        Set<String> before = ids();
        TestProject.Result run = sortie("run", "-e", "cheap");
        assertThat(run.code()).as(run.out()).isZero();
        assertThat(run.out()).contains("requested (t3.medium, on-demand", "$0.0416/h on-demand");
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        String id = launched.iterator().next();
        assertThat(instance(id).instanceTypeAsString()).isEqualTo("t3.medium");
        assertThat(instance(id).tags()).anySatisfy(t -> assertThat(t.key() + "=" + t.value()).isEqualTo("sortie:price-per-hour=0.0416"));
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.list().get(0);
            assertThat(l.latestMetrics(e.id())).as("the experiment's cost").hasEntrySatisfying("cost_usd", c -> assertThat(c).isPositive()
                    .isLessThan(0.0416)); // well under an hour
        }
        TestProject.Result show = sortie("show");
        assertThat(show.out()).contains("cost_usd");

        TestProject.Result status = sortie("status");
        assertThat(status.out()).contains(id, "t3.medium", "price/h", "cost", "$0.0416");

        // gpus with a model choose among GPU types (executor test launches nothing)
        project.write("sortie.yaml", """
                name: train
                run: echo loss=0.5
                resources: {gpus: "A10G:1"}
                """);
        TestProject.Result gpu = sortie("executor", "test", "cheap");
        assertThat(gpu.out()).contains("would launch: g5.xlarge", "1 x NVIDIA A10G", "$1.006/h on-demand");

        assertThat(sortie("down", "cheap").code()).isZero();
        awaitTerminated(launched);
    }

    @Test
    void anExplicitInstanceTypeWinsOverTheCheapest() throws Exception {
        addExecutor("explicit", "--instance-type", "t3.large");
        TestProject.Result test = sortie("executor", "test", "explicit");
        assertThat(test.code()).as(test.out()).isZero();
        assertThat(test.out()).contains("would launch: t3.large", "$0.0832/h on-demand", "the executor's instance type");
    }

    @Test
    void spotCapacityErrorsFallBackToTheNextZoneThenToOnDemand() throws Exception {
        cloud.control("POST", "/spot-prices", JSON.writeValueAsString(Map.of("region", "us-east-1", "prices", List.of(
                Map.of("InstanceType", "t3.medium", "AvailabilityZone", zoneA, "SpotPrice", "0.0125"),
                Map.of("InstanceType", "t3.medium", "AvailabilityZone", zoneB, "SpotPrice", "0.0131")))));
        fault("RunInstances", Map.of("zone", zoneA, "market", "spot"), "InsufficientInstanceCapacity", null);
        fault("RunInstances", Map.of("zone", zoneB, "market", "spot"), "SpotCapacityNotAvailable", null);
        addExecutor("spotty", "--spot", "--instance-type", "t3.medium", "--fallback", "zone:" + zoneB + ",on-demand");
        TestProject.Result test = sortie("executor", "test", "spotty");
        assertThat(test.out()).contains("$0.0125/h spot", "fallback: zone " + zoneB + "; then on-demand");

        Set<String> before = ids();
        TestProject.Result up = sortie("up", "spotty");
        assertThat(up.code()).as(up.out()).isZero();
        assertThat(up.out()).contains("no t3.medium spot in " + zoneA + " (InsufficientInstanceCapacity); trying fallback 1: zone " + zoneB,
                "no t3.medium spot in " + zoneB + " (InsufficientInstanceCapacity); trying fallback 2: on-demand",
                "requested (t3.medium, on-demand", "$0.0416/h on-demand");
        assertThat(runInstances()).containsExactly(
                zoneA + " spot t3.medium -> InsufficientInstanceCapacity",
                zoneB + " spot t3.medium -> InsufficientInstanceCapacity",
                zoneA + " on-demand t3.medium -> ok");
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        assertThat(instance(launched.iterator().next()).instanceLifecycleAsString()).as("on-demand").isNull();
        assertThat(sortie("down", "spotty").code()).isZero();
        awaitTerminated(launched);
    }

    @Test
    void capacityAndQuotaErrorsWithNoFallbackLeftAreExit3AndLaunchNothing() throws Exception {
        fault("RunInstances", Map.of("InstanceType", "t3.micro"), "InsufficientInstanceCapacity", null);
        fault("RunInstances", Map.of("InstanceType", "t3.small"), "InstanceLimitExceeded", null);
        fault("RunInstances", Map.of("InstanceType", "t3.large", "market", "spot"), "MaxSpotInstanceCountExceeded", null);
        addExecutor("full", "--instance-type", "t3.micro", "--fallback", "type:t3.small");
        TestProject.Result r = sortie("run", "-e", "full");
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("AWS has no capacity for this launch (or a quota is reached); tried 2",
                "t3.micro on-demand in " + zoneA + ": InsufficientInstanceCapacity", "t3.small on-demand in " + zoneA + ": InstanceLimitExceeded",
                "Service Quotas");
        addExecutor("spotquota", "--instance-type", "t3.large", "--spot");
        TestProject.Result q = sortie("up", "spotquota");
        assertThat(q.code()).as(q.out()).isEqualTo(3);
        assertThat(q.out()).contains("MaxSpotInstanceCountExceeded", "--fallback");
        assertThat(runInstances()).hasSize(3).allSatisfy(x -> assertThat(x).doesNotEndWith("ok"));
        assertThat(cloud.alive()).isEmpty();
    }

    @Test
    void throttlingIsRetriedWithBackoff() throws Exception {
        addExecutor("busy", "--instance-type", "t3.micro");
        fault("RunInstances", Map.of(), "RequestLimitExceeded", 2);
        fault("DescribeInstanceTypes", Map.of(), "RequestLimitExceeded", 1);
        Set<String> before = ids();
        TestProject.Result up = sortie("up", "busy");
        assertThat(up.code()).as(up.out()).isZero();
        assertThat(runInstances()).containsExactly(zoneA + " on-demand t3.micro -> RequestLimitExceeded",
                zoneA + " on-demand t3.micro -> RequestLimitExceeded", zoneA + " on-demand t3.micro -> ok");
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).as("retried with the same client token: one instance").hasSize(1);
        assertThat(sortie("down", "busy").code()).isZero();
        awaitTerminated(launched);
    }

    @Test
    void anInstanceThatNeverAnswersIsTerminatedAfterTheBootTimeoutWithWhyRecorded() throws Exception {
        addExecutor("mute", "--instance-type", "t3.micro", "--boot-timeout", "6s");
        fault("Boot", Map.of("InstanceType", "t3.micro"), null, 1);
        Set<String> before = ids();
        TestProject.Result r = sortie("run", "-e", "mute");
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("did not become ready within 6.0s", "terminated:");
        Set<String> launched = ids();
        launched.removeAll(before);
        assertThat(launched).hasSize(1);
        awaitTerminated(launched);
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.list().get(0);
            assertThat(e.error()).as("recorded with why").contains(launched.iterator().next(), "did not become ready within 6.0s");
        }
    }
}
