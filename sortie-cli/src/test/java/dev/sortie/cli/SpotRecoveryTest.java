package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * A training on a spot instance of the simulated cloud (testkit/simcloud) whose instance goes away under it, with
 * a spot interruption notice served by AWS's metadata mock or killed without one: {@code sortie run -e aws} must
 * continue it as the next attempt of the same experiment on a new instance, from its last checkpoint, and end with
 * what an uninterrupted run gives. The model is small and real (testkit/sgd/train.py, shared with bench/spot.py): a
 * linear regression trained by SGD with a fixed seed, whose loss at every step is known (the same script run here
 * without interruption), checkpointing its weights and step as JSON, atomically, every few steps and on SIGTERM, and
 * resuming from it when SORTIE_RESUMED=1.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class SpotRecoveryTest {
    /** The training (testkit/sgd/train.py, which bench/spot.py runs too). */
    static final String TRAIN = Testkit.read("sgd/train.py");

    /** A file of the repository's testkit folder (beside this module), as text. */
    static String testkit(String path) {
        Path file = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent().resolve("testkit").resolve(path);
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file, e);
        }
    }
    static final int STEPS = 120;
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", TRAIN)
                .write("sortie.yaml", """
                        name: train
                        run: python3 train.py ${steps} ${pause} ${every}
                        params: {steps: %d, pause: 0.1, every: 10}
                        checkpoints: checkpoints/
                        checkpoint_interval: 1s
                        """.formatted(STEPS))
                .commit();
    }

    @AfterEach
    void noInstanceLeft() throws Exception {
        sortie("down", "spot");
        cloud.assertNothingLeftRunning();
    }

    ProcessBuilder sortieProcess(Path out, String... args) {
        ProcessBuilder pb = project.processBuilder(out, args);
        cloud.environ(pb, tmp);
        return pb;
    }

    TestProject.Result sortie(String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        return Simcloud.finish(sortieProcess(out, args).start(), out, args);
    }

    void addSpotExecutor(String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("executor", "add", "spot", "--type", "aws", "--region", "us-east-1", "--instance-type", "t3.micro",
                "--spot", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s", "--idle-stop", "60s",
                "--lost-after", "6s"));
        args.addAll(List.of(more));
        TestProject.Result r = sortie(args.toArray(String[]::new));
        assertThat(r.code()).as(r.out()).isZero();
    }

    /** The instance (running or not) whose private address a line of the run's output names, from "[sortie] aws i-...". */
    Instance described(String id) {
        return cloud.ec2.describeInstances(r -> r.instanceIds(id)).reservations().get(0).instances().get(0);
    }

    /** The uninterrupted run: the same script, here, its loss at every step and its final weights. */
    record Expected(Map<Long, Double> loss, String finalLine) {
    }

    Expected uninterrupted() throws Exception {
        return uninterrupted(tmp);
    }

    /** {@link #uninterrupted()}, run in a folder under {@code tmp} (for the server's recovery tests too). */
    static Expected uninterrupted(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("baseline"));
        Files.writeString(dir.resolve("train.py"), TRAIN);
        ProcessBuilder pb = new ProcessBuilder("python3", "train.py", Integer.toString(STEPS), "0", "10").directory(dir.toFile())
                .redirectErrorStream(true);
        pb.environment().put("SORTIE_CHECKPOINT_DIR", dir.resolve("ck").toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Map<Long, Double> loss = new LinkedHashMap<>();
        Matcher m = Pattern.compile("step=(\\d+) loss=(\\S+)").matcher(out);
        while (m.find()) {
            loss.put(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)));
        }
        String last = out.lines().filter(l -> l.startsWith("final ")).findFirst().orElseThrow();
        return new Expected(loss, last);
    }

    /** Starts {@code sortie run -e spot}; returns once the training is past {@code step} on its instance. */
    Process startTraining(Path out, int step) throws Exception {
        Process run = sortieProcess(out, "run", "-e", "spot").start();
        run.getOutputStream().close();
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!run.isAlive()) {
                throw new AssertionError("sortie ended (" + run.exitValue() + ") before the training got going:\n" + Files.readString(out));
            }
            return Files.readString(out).contains("step=" + step + " ");
        });
        return run;
    }

    Instance theInstance() {
        List<Instance> alive = cloud.alive();
        assertThat(alive).hasSize(1);
        return alive.get(0);
    }

    /** One experiment, succeeded in {@code attempts} attempts, with exactly the loss series of the uninterrupted run. */
    Experiment assertSameAsUninterrupted(TestProject.Result r, int attempts) throws Exception {
        Expected expected = uninterrupted();
        assertThat(r.code()).as(r.out()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            List<Experiment> all = l.list();
            assertThat(all).as("one experiment, continued: not a new row per attempt").hasSize(1);
            Experiment e = all.get(0);
            assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(e.attempt()).isEqualTo(attempts);
            Path log = project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-" + attempts + ".log");
            assertThat(Files.readString(log)).as("the last attempt's log ends with the uninterrupted run's weights").contains(expected.finalLine());
            List<MetricPoint> series = l.series(e.id(), "loss");
            List<Long> steps = new ArrayList<>(series.stream().map(MetricPoint::step).toList());
            assertThat(steps).as("every step once, none lost, none twice").containsExactlyElementsOf(expected.loss().keySet());
            for (MetricPoint p : series) {
                assertThat(p.value()).as("loss at step " + p.step()).isEqualTo(expected.loss().get(p.step()));
            }
            return e;
        }
    }

    @Test
    void aSpotInterruptionNoticeStopsTheRunWhichGoesOnOnANewInstanceFromTheCheckpointItSavedOnSigterm() throws Exception {
        // slower steps (the same values): the notice must come while it trains, after a 'logs -f' JVM got going under load
        project.write("sortie.yaml", Files.readString(project.dir.resolve("sortie.yaml")).replace("pause: 0.1", "pause: 0.3")).commit();
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 25);
        Instance first = theInstance();
        // a second sortie follows the run's log beside the one that runs it: across the attempts
        Path followed = tmp.resolve("logs.txt");
        Process logs = sortieProcess(followed, "logs", "-f", "train-1").start();
        Awaitility.await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100)).until(() -> Files.readString(followed).contains("step="));
        // a rebalance recommendation first: noted in the run's log, the run goes on
        cloud.control("POST", "/vms/" + first.instanceId() + "/rebalance", null);
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> Files.readString(out).contains("rebalance recommendation for this instance"));
        assertThat(run.isAlive()).isTrue();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        TestProject.Result r = Simcloud.finish(run, out, "run", "-e", "spot");
        assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).contains("noted, not acted on", "spot interruption notice", "checkpoint saved on SIGTERM at step", "preempted at step",
                "continuing as attempt 2 on a replacement, resumed from its last checkpoint", "resumed from the checkpoint of step");
        // no step lost with a notice: the replacement resumed from the step the SIGTERM checkpoint was taken at
        Matcher saved = Pattern.compile("checkpoint saved on SIGTERM at step (\\d+)").matcher(r.out());
        Matcher resumed = Pattern.compile("resumed from the checkpoint of step (\\d+)").matcher(r.out());
        assertThat(saved.find() && resumed.find()).isTrue();
        assertThat(resumed.group(1)).isEqualTo(saved.group(1));
        TestProject.Result f = Simcloud.finish(logs, followed, "logs", "-f", "train-1");
        assertThat(f.code()).as(f.out()).isZero();
        assertThat(f.out()).as("logs -f goes on across the attempts, saying where the run stopped and that it resumes")
                .containsPattern("\\[sortie\\] attempt 1 interrupted at step \\d+ \\(preempted: spot interruption notice on " + first.instanceId())
                .contains("attempt 2 resumes on a replacement from its last checkpoint", "resumed from the checkpoint of step " + saved.group(1),
                        uninterrupted().finalLine());
        assertThat(f.out().indexOf("attempt 2 resumes")).as("attempt 1's lines, then the note, then attempt 2's")
                .isBetween(f.out().indexOf("checkpoint saved on SIGTERM"), f.out().indexOf("resumed from the checkpoint of step"));
        assertThat(cloud.alive()).as("the replacement, idle").noneMatch(i -> i.instanceId().equals(first.instanceId()));
        TestProject.Result show = sortie("show", "--attempts");
        assertThat(show.out()).containsPattern("attempt 1  interrupted  on root@\\S+  \\S+  preempted: spot interruption notice on "
                + first.instanceId()).containsPattern("attempt 2  succeeded  on root@");
    }

    @Test
    void threeInterruptionsInARowGoOnDemandAfterOnDemandAfterAndStopAtMaxRecoveries() throws Exception {
        project.write("sortie.yaml", Files.readString(project.dir.resolve("sortie.yaml")) + "max_recoveries: 2\n").commit();
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 12);
        List<String> interrupted = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            int resumes = n - 1;
            // the attempt runs: resumed (after the first) and a few steps further
            Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100)).until(() -> {
                String text = Files.readString(out);
                int at = text.lastIndexOf("resumed from the checkpoint of step");
                return count(text, "resumed from the checkpoint of step") == resumes
                        && (resumes == 0 || count(text.substring(at), "step=") >= 4);
            });
            Instance current = cloud.alive().stream().filter(i -> !interrupted.contains(i.instanceId())).findFirst().orElseThrow();
            assertThat(current.instanceLifecycleAsString()).as("attempt " + n + ": spot until on_demand_after (2) interruptions")
                    .isEqualTo(n <= 2 ? "spot" : null);
            interrupted.add(current.instanceId());
            cloud.control("POST", "/vms/" + current.instanceId() + "/interrupt", "{\"in_seconds\": 25, \"force\": true}");
        }
        TestProject.Result r = Simcloud.finish(run, out, "run", "-e", "spot");
        assertThat(r.code()).as("interrupted for good: exit 1").isEqualTo(1);
        assertThat(r.out()).contains("launching on-demand", "not continued: max_recoveries (2) used");
        Expected expected = uninterrupted();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            List<Experiment> all = l.list();
            assertThat(all).hasSize(1);
            Experiment e = all.get(0);
            assertThat(e.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
            assertThat(e.attempt()).isEqualTo(3);
            assertThat(l.attempts(e.id())).hasSize(3).allSatisfy(a -> assertThat(a.error()).startsWith("preempted: "));
            List<MetricPoint> series = l.series(e.id(), "loss");
            assertThat(series).as("steps from 1, none missing, as the uninterrupted run has them").isNotEmpty();
            for (int i = 0; i < series.size(); i++) {
                assertThat(series.get(i).step()).isEqualTo(i + 1L);
                assertThat(series.get(i).value()).isEqualTo(expected.loss().get(i + 1L));
            }
        }
    }

    @Test
    void aQueuedRunInterruptedOnSpotIsRequeuedAndTheWorkerContinuesItFromItsCheckpoint() throws Exception {
        addSpotExecutor();
        TestProject.Result queued = sortie("run", "--queue", "-e", "spot");
        assertThat(queued.code()).as(queued.out()).isZero();
        Path out = tmp.resolve("worker.txt");
        Process worker = sortieProcess(out, "queue", "start", "-e", "spot").start();
        worker.getOutputStream().close();
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!worker.isAlive()) {
                throw new AssertionError("the worker ended (" + worker.exitValue() + ") before the training got going:\n" + Files.readString(out));
            }
            try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
                List<Experiment> all = l.list();
                return !all.isEmpty() && l.series(all.get(0).id(), "loss").size() >= 25;
            }
        });
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        TestProject.Result r = Simcloud.finish(worker, out, "queue", "start", "-e", "spot");
        assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).as("the worker says why the run is queued again: where, on which instance, which attempt of how many")
                .containsPattern("again train-1 queued: attempt 1 stopped at step \\d+ \\(preempted: spot interruption notice on "
                        + first.instanceId() + ".*\\); next: attempt 2 of 4 \\(max_recoveries 3\\), from its last checkpoint");
    }

    @Test
    void pastOnDemandAfterAnIdleSpotInstanceIsNotTakenAndTheInterruptedOneIsTaggedSoNoSortieClaimsIt() throws Exception {
        addSpotExecutor("--on-demand-after", "1", "--max-instances", "3");
        TestProject.Result up = sortie("up", "spot", "-n", "2");
        assertThat(up.code()).as(up.out()).isZero();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 15);
        Matcher idle = Pattern.compile("aws (i-\\S+): idle, running there").matcher(Files.readString(out));
        assertThat(idle.find()).as("the first attempt takes one of the two idle spot instances").isTrue();
        String first = idle.group(1);
        cloud.control("POST", "/vms/" + first + "/interrupt", "{\"in_seconds\": 25}");
        TestProject.Result r = Simcloud.finish(run, out, "run", "-e", "spot");
        Experiment e = assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).as("on_demand_after 1 reached: the other idle instance is spot, so the replacement is launched on-demand")
                .contains("launching on-demand").containsOnlyOnce("idle, running there");
        assertThat(described(first).tags()).as("the interrupted instance is tagged before it is terminated")
                .anyMatch(t -> t.key().equals("sortie:interrupted"));
        List<Instance> alive = cloud.alive();
        assertThat(alive).as("the idle spot instance, untouched, and the on-demand replacement").hasSize(2)
                .anyMatch(i -> i.instanceLifecycleAsString() == null).anyMatch(i -> "spot".equals(i.instanceLifecycleAsString()));
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            String host = l.find(e.id()).orElseThrow().handle().host();
            Instance onDemand = alive.stream().filter(i -> i.instanceLifecycleAsString() == null).findFirst().orElseThrow();
            assertThat(host).as("attempt 2 ran on the on-demand instance").contains(onDemand.privateIpAddress());
        }
    }

    /** The one experiment as the ledger has it now, or null before there is one. */
    Experiment theExperiment() throws Exception {
        return project.onlyExperiment();
    }

    /**
     * Runs {@code sortie status} ({@code racers} of them at once) until the experiment is as asked; returns every
     * output they gave, the last status's result last.
     */
    List<TestProject.Result> statusUntil(int racers, java.util.function.Predicate<Experiment> done) throws Exception {
        List<TestProject.Result> all = new ArrayList<>();
        try {
            statusUntil(racers, done, all);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not there after 4 minutes of status: " + theExperiment() + "\n" + joined(all), e);
        }
        return all;
    }

    void statusUntil(int racers, java.util.function.Predicate<Experiment> done, List<TestProject.Result> all) throws Exception {
        Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500)).until(() -> {
            List<Process> ps = new ArrayList<>();
            List<Path> outs = new ArrayList<>();
            for (int i = 0; i < racers; i++) {
                Path o = Files.createTempFile(tmp, "status", ".txt");
                outs.add(o);
                ps.add(sortieProcess(o, "status").start());
            }
            for (int i = 0; i < racers; i++) {
                ps.get(i).getOutputStream().close();
                all.add(Simcloud.finish(ps.get(i), outs.get(i), "status"));
            }
            Experiment e = theExperiment();
            return e != null && done.test(e);
        });
    }

    static String joined(List<TestProject.Result> results) {
        return String.join("\n", results.stream().map(TestProject.Result::out).toList());
    }

    @Test
    void aDetachedRunPreemptedIsContinuedByTheNextStatusAndTwoStatusesRacingLaunchOneReplacement() throws Exception {
        addSpotExecutor();
        TestProject.Result started = sortie("run", "-e", "spot", "--detach");
        assertThat(started.code()).as(started.out()).isZero();
        // nobody follows a detached run: status collects its steps
        statusUntil(1, e -> seriesSize(e) >= 25);
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        List<TestProject.Result> raced = statusUntil(2, e -> e.attempt() == 2);
        // the status that claimed the recovery did not wait for the replacement instance: when it returned, the
        // attempt was still being launched (by a sortie of its own in the background), not running on an instance
        Experiment claimed = theExperiment();
        assertThat(claimed.handle()).as("attempt 2 still launching when status returned: " + claimed).isNotNull()
                .matches(h -> h.launcher(), "the launcher's handle");
        List<TestProject.Result> rest = statusUntil(1, e -> e.status() == ExperimentStatus.SUCCEEDED);
        String said = joined(raced) + joined(rest);
        assertThat(count(said, "continuing as attempt 2 on a replacement")).as("one replacement, however many sorties look:\n" + said).isEqualTo(1);
        assertThat(said).contains("preempted at step", "while no sortie followed it", "resumed from its last checkpoint");
        assertSameAsUninterrupted(rest.get(rest.size() - 1), 2);
        assertThat(Files.readString(project.dir.resolve(".sortie/logs/recover.log"))).as("the background sortie that launched it")
                .contains("train-1: launching attempt 2 on a replacement", "attempt 2 runs on its replacement");
        assertThat(cloud.alive()).as("the replacement alone, idle: the interrupted one terminated, no second replacement").hasSize(1)
                .noneMatch(i -> i.instanceId().equals(first.instanceId()));
    }

    @Test
    void aSortieKilledAfterTheNoticeIsPickedUpByTheNextStatus() throws Exception {
        killedDuringTheRecoveryThenStatus("spot interruption notice");
    }

    @Test
    void aSortieKilledWhileLaunchingTheReplacementIsPickedUpByTheNextStatusWhichLaunchesItAgain() throws Exception {
        killedDuringTheRecoveryThenStatus("continuing as attempt 2 on a replacement");
    }

    /** A foreground run preempted, its sortie SIGKILLed once it said {@code line}; then status until it is done. */
    @Test
    void aSortieKilledWhileLaunchingTheReplacementIsContinuedByAServerWithNoWorkers() throws Exception {
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 25);
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> Files.readString(out).contains("continuing as attempt 2 on a replacement"));
        run.destroyForcibly(); // SIGKILL mid-launch: from here on only the server, which drains no queue, is there
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Path serverOut = tmp.resolve("server.txt");
        Process server = sortieProcess(serverOut, "server", "--dir", project.dir.toString(), "--port", "0", "--workers", "0").start();
        try {
            Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(250)).until(() -> {
                if (!server.isAlive()) {
                    throw new AssertionError("the server ended (" + server.exitValue() + "): " + Files.readString(serverOut));
                }
                try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
                    Experiment e = l.list().get(0);
                    if (e.status().isTerminal() && e.status() != ExperimentStatus.SUCCEEDED && e.attempt() > 1) {
                        throw new AssertionError(e.status().label() + ": " + e.error() + "\n" + Files.readString(serverOut));
                    }
                    return e.status() == ExperimentStatus.SUCCEEDED;
                }
            });
        } finally {
            server.destroy();
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
            System.err.println("$ sortie server --workers 0\n" + Files.readString(serverOut));
        }
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.list().get(0);
            assertThat(l.attempts(e.id())).extracting(a -> a.attempt() + " " + a.status().label()).containsExactly("1 interrupted", "2 succeeded");
            assertThat(l.series(e.id(), "loss").stream().map(dev.sortie.core.model.MetricPoint::step).toList()).as("every step once")
                    .doesNotHaveDuplicates().hasSize(STEPS);
        }
        sortie("down", "--orphans");
    }

    void killedDuringTheRecoveryThenStatus(String line) throws Exception {
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 25);
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50)).until(() -> Files.readString(out).contains(line));
        run.destroyForcibly(); // SIGKILL
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();
        System.out.println("$ sortie run -e spot  -> SIGKILLed after '" + line + "'\n" + Files.readString(out));
        List<TestProject.Result> after = statusUntil(1, e -> e.status() == ExperimentStatus.SUCCEEDED);
        String said = joined(after);
        assertThat(count(said, "while no sortie followed it; continuing as attempt 2")).as(said).isEqualTo(1);
        assertSameAsUninterrupted(after.get(after.size() - 1), 2);
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.list().get(0);
            assertThat(l.attempts(e.id())).as("attempt 1 preempted, attempt 2 (launched again if the kill cut its launch) succeeded")
                    .extracting(a -> a.attempt() + " " + a.status().label()).containsExactly("1 interrupted", "2 succeeded");
        }
        // an instance the killed sortie was launching (never ready, its launcher dead) is an orphan: down --orphans
        sortie("down", "--orphans");
        assertThat(cloud.alive()).as("the replacement alone").hasSize(1).noneMatch(i -> i.instanceId().equals(first.instanceId()));
    }

    int seriesSize(Experiment e) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.series(e.id(), "loss").size();
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    @Test
    void inAPoolOfTwoInstancesOnlyTheInterruptedOneIsReplacedAndTheOtherRunGoesOnUndisturbed() throws Exception {
        project.write("sortie.yaml", Files.readString(project.dir.resolve("sortie.yaml")).replace("pause: 0.1", "pause: 0.2")).commit();
        addSpotExecutor("--max-instances", "2");
        for (String name : List.of("a", "b")) {
            TestProject.Result q = sortie("run", "--queue", "-e", "spot", "-n", name);
            assertThat(q.code()).as(q.out()).isZero();
        }
        Path out = tmp.resolve("worker.txt");
        Process worker = sortieProcess(out, "queue", "start", "-e", "spot", "-j", "2").start();
        worker.getOutputStream().close();
        Map<String, String> hostOf = new LinkedHashMap<>();
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!worker.isAlive()) {
                throw new AssertionError("the worker ended (" + worker.exitValue() + ") before the trainings got going:\n" + Files.readString(out));
            }
            try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
                for (Experiment e : l.list()) {
                    if (l.series(e.id(), "loss").size() < 15 || e.handle() == null || e.handle().launcher()) {
                        return false;
                    }
                    hostOf.put(e.name(), e.handle().host());
                }
                return hostOf.size() == 2;
            }
        });
        assertThat(hostOf.get("a")).as("two instances, a run each").isNotEqualTo(hostOf.get("b"));
        Instance ofA = cloud.alive().stream().filter(i -> hostOf.get("a").contains("@" + i.privateIpAddress() + ":")).findFirst().orElseThrow();
        Instance ofB = cloud.alive().stream().filter(i -> hostOf.get("b").contains("@" + i.privateIpAddress() + ":")).findFirst().orElseThrow();
        cloud.control("POST", "/vms/" + ofA.instanceId() + "/interrupt", "{\"in_seconds\": 25}");
        TestProject.Result r = Simcloud.finish(worker, out, "queue", "start", "-e", "spot", "-j", "2");
        assertThat(r.code()).as(r.out()).isZero();
        Expected expected = uninterrupted();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Map<String, Experiment> byName = new LinkedHashMap<>();
            l.list().forEach(e -> byName.put(e.name(), e));
            assertThat(byName).hasSize(2);
            for (Experiment e : byName.values()) {
                assertThat(e.status()).as(e.name()).isEqualTo(ExperimentStatus.SUCCEEDED);
                assertThat(l.series(e.id(), "loss").stream().map(MetricPoint::step).toList()).as(e.name() + ": every step once")
                        .containsExactlyElementsOf(expected.loss().keySet());
                for (MetricPoint p : l.series(e.id(), "loss")) {
                    assertThat(p.value()).as(e.name() + " loss at step " + p.step()).isEqualTo(expected.loss().get(p.step()));
                }
            }
            Experiment a = byName.get("a");
            Experiment b = byName.get("b");
            assertThat(a.attempt()).as("a went on as its second attempt").isEqualTo(2);
            assertThat(a.handle().host()).as("on a replacement").doesNotContain("@" + ofA.privateIpAddress() + ":");
            assertThat(b.attempt()).as("b was not disturbed: one attempt").isEqualTo(1);
            assertThat(l.attempts(b.id())).as("b: one attempt, on the instance it started on")
                    .singleElement().satisfies(x -> assertThat(x.host()).contains("@" + ofB.privateIpAddress() + ":"));
            assertThat(Files.readString(project.dir.resolve(".sortie/runs/" + b.id() + "/logs/attempt-1.log")))
                    .as("b ran to its end once, never resumed").contains(expected.finalLine()).doesNotContain("resumed from the checkpoint");
        }
        assertThat(described(ofB.instanceId()).state().nameAsString()).as("b's instance was left alone").isEqualTo("running");
        assertThat(r.out()).as("a alone went back to the queue, for the interruption of its instance")
                .containsOnlyOnce("again ").contains("again a queued: attempt 1 stopped at step", "spot interruption notice on " + ofA.instanceId());
    }

    /** Starts {@code sortie run -e spot}; returns the id of the instance it launches, once it says it requested one. */
    String startAndCatchTheLaunch(Path out, String step) throws Exception {
        Process run = sortieProcess(out, "run", "-e", "spot").start();
        run.getOutputStream().close();
        Pattern requested = Pattern.compile("aws (i-\\S+): " + step);
        String[] id = new String[1];
        Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20)).until(() -> {
            Matcher m = requested.matcher(Files.readString(out));
            if (m.find()) {
                id[0] = m.group(1);
                return true;
            }
            return false;
        });
        launched = run;
        return id[0];
    }

    Process launched;

    @Test
    void aNoticeDuringProvisioningStopsTheRunAsSoonAsItStartsAndItGoesOnOnAReplacement() throws Exception {
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        String first = startAndCatchTheLaunch(out, "requested");
        // the notice is there before the agent is installed, let alone the run started
        cloud.onNewVm(first, "interrupt", "{\"in_seconds\": 25}");
        TestProject.Result r = Simcloud.finish(launched, out, "run", "-e", "spot");
        assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).contains("spot interruption notice", "continuing as attempt 2 on a replacement");
        assertThat(cloud.alive()).noneMatch(i -> i.instanceId().equals(first));
    }

    @Test
    void anInstanceKilledWhileItBootsIsReplacedAndTheRunStartsOnTheNextOne() throws Exception {
        TestProject.Result r = killedDuringProvisioningAt("requested");
        assertThat(r.out()).contains("before it was ready (a spot instance AWS took back, say)", "launching another");
    }

    @Test
    void anInstanceKilledOnceReadyBeforeOrAsTheRunStartsIsReplacedAndTheRunGoesOn() throws Exception {
        killedDuringProvisioningAt("agent ready");
    }

    /**
     * An instance killed (no notice) once its launch said {@code step}: the run ends succeeded all the same, as one
     * attempt on another instance when the kill came before the run started there, else as a second attempt.
     */
    TestProject.Result killedDuringProvisioningAt(String step) throws Exception {
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        String first = startAndCatchTheLaunch(out, step);
        cloud.onNewVm(first, "kill", null);
        TestProject.Result r = Simcloud.finish(launched, out, "run", "-e", "spot");
        Experiment e = assertSameAsUninterrupted(r, r.out().contains("continuing as attempt 2") ? 2 : 1);
        assertThat(e.handle().host()).as("the run ended on another instance").doesNotContain("@" + described(first).privateIpAddress() + ":");
        assertThat(cloud.alive()).noneMatch(i -> i.instanceId().equals(first));
        return r;
    }

    /**
     * The training, with a large checkpoint: its weights and step, then 24 MB of noise whose SHA-256 the header holds,
     * in one file written atomically; a resumed run checks the noise against the hash and fails on a torn file.
     */
    static final String TRAIN_BIG_CHECKPOINT = TRAIN
            .replace("ck = os.path.join(ckdir, \"state.json\")", "ck = os.path.join(ckdir, \"state.bin\")\nimport hashlib")
            .replace("""
                with open(ck) as f:
                    s = json.load(f)
            """, """
                with open(ck, "rb") as f:
                    s = json.loads(f.readline())
                    noise = f.read()
                if hashlib.sha256(noise).hexdigest() != s["sha"]:
                    print("torn checkpoint", flush=True)
                    sys.exit(3)
                print("checkpoint intact", flush=True)
            """)
            .replace("""
                with open(tmp, "w") as f:
                    json.dump({"w": w, "b": b, "step": step}, f)
            """, """
                noise = os.urandom(24 << 20)
                with open(tmp, "wb") as f:
                    f.write(json.dumps({"w": w, "b": b, "step": step, "sha": hashlib.sha256(noise).hexdigest()}).encode() + b"\\n")
                    f.write(noise)
            """);

    @Test
    void anInstanceKilledWhileItsCheckpointIsFetchedGoesOnFromThePreviousCompleteOne() throws Exception {
        assertThat(TRAIN_BIG_CHECKPOINT).contains("checkpoint intact", "os.urandom");
        project.write("train.py", TRAIN_BIG_CHECKPOINT)
                .write("sortie.yaml", Files.readString(project.dir.resolve("sortie.yaml")).replace("pause: 0.1", "pause: 0.2")).commit();
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 22); // the checkpoints of steps 10 and 20 fetched (or on their way)
        Instance first = theInstance();
        Awaitility.await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(50)).until(() -> {
            try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
                return l.artifacts(l.list().get(0).id()).stream().anyMatch(a -> a.kind() == dev.sortie.core.model.ArtifactKind.CHECKPOINT);
            }
        });
        // then the next checkpoint's blob on its way into this machine's store (the store writes a temp file, then renames it)
        Path incoming = project.dir.resolve(".sortie/store/tmp");
        Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(2)).until(() -> {
            if (!Files.isDirectory(incoming)) {
                return false;
            }
            try (var files = Files.list(incoming)) {
                return files.anyMatch(f -> f.getFileName().toString().endsWith(".tmp") && f.toFile().length() > (1 << 20));
            }
        });
        cloud.control("POST", "/vms/" + first.instanceId() + "/kill", null);
        TestProject.Result r = Simcloud.finish(run, out, "run", "-e", "spot");
        assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).contains("checkpoint intact").doesNotContain("torn checkpoint");
        Matcher resumed = Pattern.compile("resumed from the checkpoint of step (\\d+)").matcher(r.out());
        assertThat(resumed.find()).isTrue();
        assertThat(Integer.parseInt(resumed.group(1)) % 10).as("a periodic checkpoint, complete").isZero();
        try (var left = Files.list(incoming)) {
            assertThat(left.map(Path::toString).toList()).as("the torn transfer left nothing in the store").noneMatch(f -> f.endsWith(".tmp"));
        }
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void anInstanceKilledWithoutNoticeIsLostAfterLostAfterAndTheRunGoesOnFromItsLastPeriodicCheckpoint() throws Exception {
        addSpotExecutor();
        Path out = tmp.resolve("run.txt");
        Process run = startTraining(out, 35);
        Instance first = theInstance();
        cloud.control("POST", "/vms/" + first.instanceId() + "/kill", null);
        TestProject.Result r = Simcloud.finish(run, out, "run", "-e", "spot");
        assertSameAsUninterrupted(r, 2);
        assertThat(r.out()).contains("lost; terminating it", "lost its instance at step", "continuing as attempt 2 on a replacement, resumed from its last checkpoint",
                "resumed from the checkpoint of step");
    }
}
