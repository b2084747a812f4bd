package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * {@code sortie server} continuing spot-interrupted runs with no {@code sortie} of a user running: the server's folder
 * is the project's (one ledger), the training is SpotRecoveryTest's SGD model, and after the instance's notice only
 * the server is there to launch the replacement and resume the run from its checkpoint.
 */
@Tag("integration")
@Timeout(value = 8, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class ServerSpotRecoveryTest {
    private static final Pattern LISTENING = Pattern.compile("sortie server: listening on (https?://\\S+)");
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;
    Process server;
    Path serverOut;
    String url;

    @BeforeEach
    void setUp() throws Exception {
        // steps of 0.3 s (the values do not depend on it): the notice must come while it trains, after the server
        // collected the first steps, under load
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", SpotRecoveryTest.TRAIN)
                .write("sortie.yaml", """
                        name: train
                        run: python3 train.py ${steps} ${pause} ${every}
                        params: {steps: %d, pause: 0.3, every: 10}
                        checkpoints: checkpoints/
                        checkpoint_interval: 1s
                        """.formatted(SpotRecoveryTest.STEPS))
                .commit();
        TestProject.Result r = sortie(Map.of(), "executor", "add", "spot", "--type", "aws", "--region", "us-east-1", "--instance-type", "t3.micro",
                "--spot", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s", "--idle-stop", "60s",
                "--lost-after", "6s");
        assertThat(r.code()).as(r.out()).isZero();
        serverOut = tmp.resolve("server.txt");
        ProcessBuilder pb = project.processBuilder(serverOut, "server", "--dir", project.dir.toString(), "--port", "0");
        cloud.environ(pb, tmp);
        server = pb.start();
        Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!server.isAlive()) {
                throw new AssertionError("the server ended (" + server.exitValue() + "): " + Files.readString(serverOut));
            }
            Matcher m = LISTENING.matcher(Files.readString(serverOut));
            if (m.find()) {
                url = m.group(1);
                return true;
            }
            return false;
        });
    }

    @AfterEach
    void stopServerAndNoInstanceLeft() throws Exception {
        server.destroy();
        if (!server.waitFor(60, TimeUnit.SECONDS)) {
            server.destroyForcibly();
        }
        System.err.println("$ sortie server\n" + Files.readString(serverOut));
        sortie(Map.of(), "down", "spot");
        cloud.assertNothingLeftRunning();
    }

    TestProject.Result sortie(Map<String, String> env, String... args) throws Exception {
        return cloud.sortie(project, tmp, Simcloud.withoutLogin(tmp, env), args);
    }

    Experiment theExperiment() throws Exception {
        return project.onlyExperiment();
    }

    int steps(Experiment e) throws Exception {
        return project.points(e, "loss");
    }

    /** Waits (no sortie of a user running) until the experiment has trained {@code steps} steps, as the server collects them. */
    void awaitSteps(int n) {
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() -> {
            Experiment e = theExperiment();
            if (e != null && e.status().isTerminal()) {
                throw new AssertionError(e.name() + " ended " + e.status().label() + " before it was interrupted: " + e.error()
                        + "\n" + Files.readString(serverOut));
            }
            return e != null && steps(e) >= n;
        });
    }

    Instance theInstance() {
        List<Instance> alive = cloud.alive();
        assertThat(alive).hasSize(1);
        return alive.get(0);
    }

    /** The notice, then nothing but the server until the experiment succeeded: checked against an uninterrupted run. */
    Experiment interruptAndAwaitTheServersRecovery() throws Exception {
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        Awaitility.await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(250)).until(() -> {
            Experiment e = theExperiment();
            if (e.status().isTerminal() && e.status() != ExperimentStatus.SUCCEEDED
                    && !(e.status() == ExperimentStatus.INTERRUPTED && e.attempt() == 1)) {
                throw new AssertionError("ended " + e.status().label() + ": " + e.error() + "\n" + Files.readString(serverOut));
            }
            return e.status() == ExperimentStatus.SUCCEEDED;
        });
        SpotRecoveryTest.Expected expected = SpotRecoveryTest.uninterrupted(tmp);
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.list()).as("one experiment, continued: not a new row per attempt").hasSize(1);
            Experiment e = l.list().get(0);
            assertThat(e.attempt()).isEqualTo(2);
            assertThat(l.attempts(e.id())).extracting(a -> a.attempt() + " " + a.status().label()).containsExactly("1 interrupted", "2 succeeded");
            assertThat(l.attempts(e.id()).get(0).error()).startsWith("preempted: spot interruption notice on " + first.instanceId());
            List<MetricPoint> series = l.series(e.id(), "loss");
            assertThat(series.stream().map(MetricPoint::step).toList()).as("every step once, none lost, none twice")
                    .containsExactlyElementsOf(expected.loss().keySet());
            for (MetricPoint p : series) {
                assertThat(p.value()).as("loss at step " + p.step()).isEqualTo(expected.loss().get(p.step()));
            }
            String log = Files.readString(project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-2.log"));
            assertThat(log).as("resumed from its checkpoint, ending with the uninterrupted run's weights")
                    .contains("resumed from the checkpoint of step", expected.finalLine());
            assertThat(cloud.alive()).noneMatch(i -> i.instanceId().equals(first.instanceId()));
            return e;
        }
    }

    @Test
    void aDetachedForegroundRunPreemptedIsContinuedByTheServerWithNoSortieRunning() throws Exception {
        TestProject.Result started = sortie(Map.of(), "run", "-e", "spot", "--detach");
        assertThat(started.code()).as(started.out()).isZero();
        // from here on no sortie of a user runs: the server's worker follows the detached run, its recovery loop continues it
        awaitSteps(15);
        interruptAndAwaitTheServersRecovery();
        assertThat(Files.readString(project.dir.resolve(".sortie/logs/sortie.log"))).as("the server's log says what it did")
                .containsPattern("train-1: attempt 1 preempted at step \\d+ while no sortie followed it; continuing as attempt 2 on a replacement,"
                        + " resumed from its last checkpoint");
    }

    @Test
    void aRunQueuedThroughTheServerPreemptedIsResumedFromItsCheckpointByTheServer() throws Exception {
        TestProject.Result token = sortie(Map.of(), "server", "token", "create", "--name", "alice", "--dir", project.dir.toString());
        assertThat(token.code()).as(token.out()).isZero();
        List<String> lines = token.out().lines().toList();
        Map<String, String> login = Map.of("SORTIE_SERVER", url, "SORTIE_TOKEN", lines.get(lines.size() - 1).trim());
        TestProject.Result queued = sortie(login, "run", "--queue", "-e", "spot");
        assertThat(queued.code()).as(queued.out()).isZero();
        awaitSteps(15);
        interruptAndAwaitTheServersRecovery();
    }
}
