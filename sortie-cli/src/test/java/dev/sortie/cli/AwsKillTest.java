package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.services.ec2.model.Instance;

/**
 * A {@code sortie run -e aws} SIGKILLed at each step of provisioning, in the simulated cloud (testkit/simcloud):
 * the real sortie JVM is held at the step by the test-only pause point ({@code SORTIE_TEST_PAUSE_AT}, see
 * {@code TestPause}), killed there, and then the next {@code sortie status} and {@code sortie down --orphans}, or
 * the node's own watchdog within its idle stop, must leave no instance running and the experiment in a clear state.
 * Also: {@code --max-instances} holds across two sortie processes.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class AwsKillTest {
    /**
     * The watchdog's idle stop, counted from the node's boot: long enough for a paused launch to reach its step (boot
     * to the run's start took 2.6 s at a load average of 10 on two cores: over 4x that), short enough to wait for
     * (the four steps that leave a ready instance wait for it, so every second here is four of the class's).
     */
    static final Duration IDLE_STOP = Duration.ofSeconds(12);
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", """
                        import sys, time
                        steps = int(sys.argv[1])
                        for i in range(steps):
                            print(f"loss={1.0 / (i + 1):.4f} step={i}", flush=True)
                            time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
                        """)
                .write("sortie.yaml", """
                        name: train
                        run: python3 train.py ${steps} ${pause}
                        params: {steps: 3, pause: 0}
                        """)
                .commit();
    }

    @AfterEach
    void noInstanceLeft() {
        cloud.assertNothingLeftRunning();
    }

    ProcessBuilder sortieProcess(Path out, Map<String, String> env, String... args) {
        ProcessBuilder pb = project.processBuilder(out, args);
        cloud.environ(pb, tmp);
        pb.environment().putAll(env);
        return pb;
    }

    TestProject.Result sortie(String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        return Simcloud.finish(sortieProcess(out, Map.of(), args).start(), out, args);
    }

    void addExecutor(String name, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("executor", "add", name, "--type", "aws", "--region", "us-east-1",
                "--instance-type", "t3.micro", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s",
                "--idle-stop", IDLE_STOP.toSeconds() + "s"));
        args.addAll(List.of(more));
        TestProject.Result r = sortie(args.toArray(new String[0]));
        assertThat(r.code()).as(r.out()).isZero();
    }

    Set<String> ids() {
        Set<String> s = new HashSet<>();
        cloud.instances().forEach(i -> s.add(i.instanceId()));
        return s;
    }

    List<Experiment> experiments() throws Exception {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.list();
        }
    }

    /**
     * Each step of a launch, from the executor's key pair to the record of the run's agent; the instance exists from
     * {@code launched} on (its tags come with RunInstances, in the same call), and is ready (tagged so) from
     * {@code agent-install} on.
     */
    @ParameterizedTest(name = "killed at {0}")
    @ValueSource(strings = {"key-pair", "security-group", "run-instances", "launched", "ssh-wait", "ready-tag", "agent-install", "sync",
            "agent-launch", "record"})
    void aSortieKilledAtAnyStepOfProvisioningLeavesNothingRunning(String step) throws Exception {
        addExecutor("k");
        Set<String> before = ids();
        Path out = tmp.resolve("run.txt");
        Path marker = tmp.resolve("paused");
        Process run = sortieProcess(out, Map.of("SORTIE_TEST_PAUSE_AT", step, "SORTIE_TEST_PAUSE_MARKER", marker.toString()),
                "run", "-e", "k").start();
        run.getOutputStream().close();
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!run.isAlive()) {
                throw new AssertionError("sortie ended (" + run.exitValue() + ") before reaching " + step + ":\n" + Files.readString(out));
            }
            return Files.exists(marker);
        });
        run.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();
        System.err.println("killed at " + step + ":\n" + Files.readString(out));
        Set<String> launched = ids();
        launched.removeAll(before);
        boolean instanceMade = List.of("launched", "ssh-wait", "ready-tag", "agent-install", "sync", "agent-launch", "record").contains(step);
        assertThat(launched).as("instances launched before the kill at " + step).hasSize(instanceMade ? 1 : 0);

        // the next sortie finds the experiment's end (the run was on no instance, or it was and is collected from it)
        Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            TestProject.Result status = sortie("status");
            assertThat(status.code()).as(status.out()).isZero();
            assertThat(experiments()).singleElement().satisfies(e -> assertThat(e.status().isTerminal()).as(e.status() + ": " + e.error()).isTrue());
        });
        Experiment e = experiments().get(0);
        if (step.equals("record")) {
            // the agent was started before the record said so: the run is found on the instance and collected
            assertThat(e.status()).as(String.valueOf(e.error())).isEqualTo(ExperimentStatus.SUCCEEDED);
        } else {
            assertThat(e.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
            assertThat(e.error()).as("says why").isNotBlank();
        }

        // an instance whose launch never finished is an orphan; a ready one stops itself when idle
        TestProject.Result orphans = sortie("down", "--orphans");
        assertThat(orphans.code()).as(orphans.out()).isZero();
        if (List.of("launched", "ssh-wait", "ready-tag").contains(step)) {
            assertThat(orphans.out()).contains(launched.iterator().next(), "the sortie that made it is gone");
        }
        Awaitility.await().atMost(IDLE_STOP.plusSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                cloud.instances().stream().filter(i -> launched.contains(i.instanceId()))
                        .allMatch(i -> i.state().nameAsString().equals("terminated")));
        assertThat(cloud.alive()).isEmpty();
    }

    /** Two sortie processes, each with a run for an executor of max_instances 1: one instance, both runs on it in turn. */
    @Test
    void maxInstancesHoldsAcrossTwoSortieProcesses() throws Exception {
        addExecutor("one", "--max-instances", "1");
        Set<String> before = ids();
        Path outA = tmp.resolve("a.txt");
        Path outB = tmp.resolve("b.txt");
        Process a = sortieProcess(outA, Map.of(), "run", "-e", "one", "-S", "pause=1").start();
        Process b = sortieProcess(outB, Map.of(), "run", "-e", "one", "-S", "pause=1").start();
        a.getOutputStream().close();
        b.getOutputStream().close();
        Set<String> seen = new HashSet<>();
        // every instance either process launched, while they run (a second one would be terminated by the watchdog later)
        Awaitility.await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(200)).until(() -> {
            Set<String> now = ids();
            now.removeAll(before);
            seen.addAll(now);
            return !a.isAlive() && !b.isAlive();
        });
        String textA = Files.readString(outA);
        String textB = Files.readString(outB);
        System.err.println("A -> " + a.exitValue() + "\n" + textA + "\nB -> " + b.exitValue() + "\n" + textB);
        assertThat(seen).as("instances launched by the two processes").hasSize(1);
        assertThat(a.exitValue()).as(textA).isZero();
        assertThat(b.exitValue()).as(textB).isZero();
        assertThat(textA + textB).contains("max_instances 1", "idle, running there");

        TestProject.Result down = sortie("down", "one");
        assertThat(down.code()).as(down.out()).isZero();
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                cloud.instances().stream().filter(i -> seen.contains(i.instanceId()))
                        .allMatch(i -> i.state().nameAsString().equals("terminated")));
    }
}
