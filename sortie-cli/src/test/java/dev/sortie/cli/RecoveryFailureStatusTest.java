package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ec2.model.Instance;

/**
 * A recovery handed off by {@code sortie status} to its background {@code sortie recover} whose replacement cannot
 * be launched (the simulated cloud answers every RunInstances with InsufficientInstanceCapacity): the failure must not
 * stay in .sortie/logs/recover.log alone; {@code status} (text and --json, locally and through a server) says which
 * experiment, that its recovery failed, why, where the log is and what to do.
 */
@Tag("integration")
@Timeout(value = 8, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class RecoveryFailureStatusTest {
    private static final Pattern LISTENING = Pattern.compile("sortie server: listening on (https?://\\S+)");
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;

    @AfterEach
    void noInstanceLeft() throws Exception {
        cloud.control("POST", "/faults/clear", "{}");
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

    /** {@code sortie status} again and again (it collects the detached run and claims its recovery) until {@code done}. */
    List<TestProject.Result> statusUntil(java.util.function.Predicate<Experiment> done) throws Exception {
        List<TestProject.Result> all = new ArrayList<>();
        Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500)).until(() -> {
            all.add(sortie(Map.of(), "status"));
            Experiment e = theExperiment();
            return e != null && done.test(e);
        });
        return all;
    }

    @Test
    void aHandedOffRecoveryWhoseReplacementCannotBeLaunchedIsShownByStatusLocallyAndThroughTheServer() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", SpotRecoveryTest.TRAIN)
                .write("sortie.yaml", """
                        name: train
                        run: python3 train.py ${steps} ${pause} ${every}
                        params: {steps: %d, pause: 0.2, every: 10}
                        checkpoints: checkpoints/
                        checkpoint_interval: 1s
                        """.formatted(SpotRecoveryTest.STEPS))
                .commit();
        TestProject.Result added = sortie(Map.of(), "executor", "add", "spot", "--type", "aws", "--region", "us-east-1", "--instance-type",
                "t3.micro", "--spot", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s", "--idle-stop",
                "60s", "--lost-after", "6s");
        assertThat(added.code()).as(added.out()).isZero();
        TestProject.Result started = sortie(Map.of(), "run", "-e", "spot", "--detach");
        assertThat(started.code()).as(started.out()).isZero();
        statusUntil(e -> {
            try {
                return steps(e) >= 10;
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        });
        // no t3.micro left anywhere, then the notice: the replacement's launch fails in the background sortie
        cloud.control("POST", "/faults", """
                {"action": "RunInstances", "error": "InsufficientInstanceCapacity", "match": {"InstanceType": "t3.micro"}}""");
        List<Instance> alive = cloud.alive();
        assertThat(alive).hasSize(1);
        cloud.control("POST", "/vms/" + alive.get(0).instanceId() + "/interrupt", "{\"in_seconds\": 10}");
        statusUntil(e -> e.attempt() == 2 && e.status().isTerminal());
        Experiment failed = theExperiment();
        assertThat(failed.status()).as(failed.toString()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(Files.readString(project.dir.resolve(".sortie/logs/recover.log"))).as("the background sortie launched it")
                .contains("train-1: launching attempt 2 on a replacement");

        TestProject.Result status = sortie(Map.of(), "status");
        assertThat(status.code()).as(status.out()).isZero();
        assertThat(status.out()).containsPattern("sortie: train-1: its recovery failed: attempt 2, the replacement of attempt 1 "
                + "\\(its machine went away\\), could not be launched: .*capacity.* \\(log: \\.sortie/logs/recover\\.log; "
                + "'sortie retry train-1' tries again");
        assertThat(status.out().lines().filter(l -> l.contains("its recovery failed")).findFirst().orElseThrow())
                .as("no secret on the line").doesNotContain(cloud.awsEnv().get("AWS_SECRET_ACCESS_KEY"));

        TestProject.Result json = sortie(Map.of(), "status", "--json");
        assertThat(json.code()).as(json.out()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.out().substring(json.out().indexOf('{')));
        assertThat(doc.path("recovery_failed")).hasSize(1);
        JsonNode f = doc.path("recovery_failed").get(0);
        assertThat(f.path("name").asText()).isEqualTo("train-1");
        assertThat(f.path("attempt").asInt()).isEqualTo(2);
        assertThat(f.path("lost_attempt").asInt()).isEqualTo(1);
        assertThat(f.path("why").asText()).containsIgnoringCase("capacity").doesNotContain("\n");
        assertThat(f.path("log").asText()).isEqualTo(".sortie/logs/recover.log");
        assertThat(f.path("hint").asText()).contains("sortie retry train-1");

        // the same through a server whose folder is the project's (one ledger)
        Path serverOut = tmp.resolve("server.txt");
        ProcessBuilder pb = project.processBuilder(serverOut, "server", "--dir", project.dir.toString(), "--port", "0", "--workers", "0");
        cloud.environ(pb, tmp);
        Process server = pb.start();
        try {
            String[] url = new String[1];
            Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
                if (!server.isAlive()) {
                    throw new AssertionError("the server ended (" + server.exitValue() + "): " + Files.readString(serverOut));
                }
                Matcher m = LISTENING.matcher(Files.readString(serverOut));
                if (m.find()) {
                    url[0] = m.group(1);
                }
                return url[0] != null;
            });
            TestProject.Result token = sortie(Map.of(), "server", "token", "create", "--name", "alice", "--dir", project.dir.toString());
            assertThat(token.code()).as(token.out()).isZero();
            List<String> lines = token.out().lines().toList();
            Map<String, String> login = Map.of("SORTIE_SERVER", url[0], "SORTIE_TOKEN", lines.get(lines.size() - 1).trim());
            TestProject.Result remote = sortie(login, "status");
            assertThat(remote.code()).as(remote.out()).isZero();
            assertThat(remote.out()).containsPattern("sortie: train-1: its recovery failed: attempt 2, .*capacity.*\\(log: the server.s log "
                    + ".*sortie\\.log; 'sortie retry train-1' tries again");
            TestProject.Result remoteJson = sortie(login, "status", "--json");
            JsonNode rdoc = new ObjectMapper().readTree(remoteJson.out().substring(remoteJson.out().indexOf('{')));
            assertThat(rdoc.path("recovery_failed").get(0).path("name").asText()).isEqualTo("train-1");
        } finally {
            server.destroy();
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }
}
